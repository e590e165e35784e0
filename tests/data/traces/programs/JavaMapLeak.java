// A Java service that leaks through a static map: each request stores its session (a 2 KiB
// byte[] and a key) in a static HashMap that is never trimmed, besides short-lived garbage. Run
// under G1 with -XX:G1PeriodicGCInterval=5000: periodic collections and heap resizing make RSS
// grow in steps and saw, while the live set grows steadily.
// Used for tests/data/traces/java_g1_map_leak.csv. Usage: java JavaMapLeak [tickMs=10] [bytes=2048]
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

public final class JavaMapLeak {
    static final Map<Long, byte[]> SESSIONS = new HashMap<>(); // the leak

    public static void main(String[] args) throws InterruptedException {
        long tickMs = args.length > 0 ? Long.parseLong(args[0]) : 10;
        int bytes = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
        long id = 0;
        long sink = 0;
        while (true) {
            for (int r = 0; r < 3; r++) {
                id++;
                StringBuilder body = new StringBuilder();
                for (int i = 0; i < 150; i++) body.append("user-").append(id).append('-').append(i).append(';');
                sink += body.length();
                byte[] session = new byte[bytes];
                ThreadLocalRandom.current().nextBytes(session);
                SESSIONS.put(id, session);
            }
            if (sink == 42) System.out.println(sink);
            Thread.sleep(tickMs);
        }
    }
}
