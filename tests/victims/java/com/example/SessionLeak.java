// A "service" whose sessions are cached in a static map that is only ever added to (the leak),
// beside healthy churn: request buffers and parsed headers that die with each request, and a
// bounded LRU of recent lookups. Prints "ready" once it serves; runs until killed.
// Usage: java -cp DIR com.example.SessionLeak [requests_per_second] [max_requests]
// With max_requests it serves that many requests, prints "quiet" and then idles: the heap holds
// exactly max_requests sessions from then on (the oracle tests compare counts there).
package com.example;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

public final class SessionLeak {
    static final Map<Long, Session> SESSIONS = new ConcurrentHashMap<>();

    static final Map<String, String> RECENT = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > 256;
        }
    };

    static long handled = 0;

    static void handle(long id) {
        // Healthy churn: a request's buffers and headers, garbage once it is answered.
        byte[] body = new byte[2048];
        body[0] = (byte) id;
        Map<String, String> headers = new HashMap<>();
        headers.put("x-request", Long.toString(id));
        List<String> words = new ArrayList<>();
        for (int i = 0; i < 8; ++i) words.add("w" + (id + i));
        RECENT.put("k" + (id % 1000), words.get(0));
        // The leak: every request logs in a session that is never removed.
        SESSIONS.put(id, new Session(id, headers.get("x-request")));
        handled += body.length > 0 ? 1 : 0;
    }

    public static void main(String[] args) throws Exception {
        final int rate = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        final long max = args.length > 1 ? Long.parseLong(args[1]) : Long.MAX_VALUE;
        System.out.println("ready");
        System.out.flush();
        long id = 0;
        while (true) {
            if (id >= max) {
                System.out.println("quiet");
                System.out.flush();
                while (true) Thread.sleep(1000);
            }
            final long start = System.nanoTime();
            for (int i = 0; i < rate / 10 && id < max; ++i) handle(id++);
            final long slept = 100_000_000L - (System.nanoTime() - start);
            if (slept > 0) Thread.sleep(slept / 1_000_000L);
        }
    }
}
