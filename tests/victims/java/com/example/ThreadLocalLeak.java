// A pool of worker threads whose ThreadLocal holds a per-thread list of RequestContext objects
// that each task appends to and never clears (the leak), beside healthy per-task garbage.
// Prints "ready"; runs until killed.
// Usage: java -cp DIR com.example.ThreadLocalLeak [tasks_per_second] [max_tasks]
// With max_tasks it runs that many tasks, waits for them, prints "quiet" and then idles with its
// pool threads alive: the heap holds exactly max_tasks contexts from then on.
package com.example;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

public final class ThreadLocalLeak {
    static final class RequestContext {
        final long id;
        final long[] trace = new long[6];

        RequestContext(long id) {
            this.id = id;
        }
    }

    static final java.util.concurrent.atomic.AtomicLong DONE = new java.util.concurrent.atomic.AtomicLong();

    static final ThreadLocal<List<RequestContext>> CONTEXTS = ThreadLocal.withInitial(ArrayList::new);

    public static void main(String[] args) throws Exception {
        final int rate = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        final long max = args.length > 1 ? Long.parseLong(args[1]) : Long.MAX_VALUE;
        final ExecutorService pool = Executors.newFixedThreadPool(4);
        System.out.println("ready");
        System.out.flush();
        long id = 0;
        while (true) {
            if (id >= max) {
                while (DONE.get() < max) Thread.sleep(10);
                System.out.println("quiet");
                System.out.flush();
                while (true) Thread.sleep(1000);
            }
            final long start = System.nanoTime();
            for (int i = 0; i < rate / 10 && id < max; ++i) {
                final long task = id++;
                pool.execute(() -> {
                    byte[] scratch = new byte[1024];
                    scratch[0] = (byte) task;
                    CONTEXTS.get().add(new RequestContext(task));
                    DONE.incrementAndGet();
                });
            }
            final long slept = 100_000_000L - (System.nanoTime() - start);
            if (slept > 0) Thread.sleep(slept / 1_000_000L);
        }
    }
}
