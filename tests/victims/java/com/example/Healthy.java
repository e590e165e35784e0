// A healthy service: per-request garbage and a bounded cache that fills and then stays the same
// size. Prints "ready"; runs until killed (or for the seconds given as its second argument).
package com.example;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class Healthy {
    static final class Entry {
        final long key;
        final byte[] value = new byte[48];

        Entry(long key) {
            this.key = key;
        }
    }

    static final Map<Long, Entry> CACHE = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Entry> eldest) {
            return size() > 500;
        }
    };

    public static void main(String[] args) throws Exception {
        final int rate = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        final long seconds = args.length > 1 ? Long.parseLong(args[1]) : Long.MAX_VALUE / 2_000_000_000L;
        final long end = System.nanoTime() + seconds * 1_000_000_000L;
        // Fill the cache before serving: it is full from the first snapshot on.
        for (long k = 0; k < 500; ++k) CACHE.put(k, new Entry(k));
        System.out.println("ready");
        System.out.flush();
        long id = 0;
        while (System.nanoTime() < end) {
            final long start = System.nanoTime();
            for (int i = 0; i < rate / 10; ++i) {
                List<String> parts = new ArrayList<>();
                for (int j = 0; j < 4; ++j) parts.add("p" + (id + j));
                CACHE.put(id % 5000, new Entry(id));
                ++id;
            }
            final long slept = 100_000_000L - (System.nanoTime() - start);
            if (slept > 0) Thread.sleep(slept / 1_000_000L);
        }
    }
}
