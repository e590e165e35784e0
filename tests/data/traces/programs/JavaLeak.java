// A Java "request handler" loop that leaks through a static List: every tick it handles fake
// requests, allocates short-lived objects (churn) and appends a record holding a byte[] payload
// to a static list that is never trimmed. Heap (and so RSS) grows stepwise as G1 expands the
// heap. Used for tests/data/traces/java_leak.csv. Usage: java JavaLeak [tickMs=10] [bytes=4096]
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

public final class JavaLeak {
    record Session(long id, String user, byte[] payload) {}

    static final List<Session> SESSIONS = new ArrayList<>(); // the leak

    public static void main(String[] args) throws InterruptedException {
        long tickMs = args.length > 0 ? Long.parseLong(args[0]) : 10;
        int bytes = args.length > 1 ? Integer.parseInt(args[1]) : 4096;
        long id = 0;
        long sink = 0;
        while (true) {
            for (int r = 0; r < 2; r++) {
                id++;
                Map<String, String> headers = new HashMap<>();
                for (int i = 0; i < 16; i++) headers.put("x-h-" + i, Long.toHexString(ThreadLocalRandom.current().nextLong()));
                StringBuilder body = new StringBuilder();
                for (int i = 0; i < 100; i++) body.append("user-").append(id).append('-').append(i).append(';');
                sink += body.length() + headers.size();
                byte[] payload = new byte[bytes];
                ThreadLocalRandom.current().nextBytes(payload);
                SESSIONS.add(new Session(id, "user-" + id, payload));
            }
            if (sink == 42) System.out.println(sink);
            Thread.sleep(tickMs);
        }
    }
}
