// A healthy Java service that warms up and then gives heap back: for the first `burstS` seconds it
// builds a large temporary index (byte[] pages kept in a list, ~15 MiB/s), plus a fixed 64 MiB
// lookup table it keeps for good; then it drops the index and serves with short-lived garbage
// only. Run with G1 and -XX:G1PeriodicGCInterval=5000 so that idle periodic collections uncommit
// the heap the burst committed: RSS climbs, falls well above where it started, and saws there.
// Used for tests/data/traces/java_g1_uncommit.csv. Usage: java JavaWarmup [burstS=40]
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

public final class JavaWarmup {
    static final List<byte[]> TABLE = new ArrayList<>(); // fixed working set, kept

    public static void main(String[] args) throws InterruptedException {
        long burstMs = (args.length > 0 ? Long.parseLong(args[0]) : 40) * 1000;
        for (int i = 0; i < 64; i++) TABLE.add(new byte[1 << 20]);
        List<byte[]> index = new ArrayList<>(); // temporary, dropped after the burst
        long start = System.currentTimeMillis();
        long sink = 0;
        while (true) {
            long now = System.currentTimeMillis();
            if (index != null && now - start < burstMs) {
                for (int i = 0; i < 15; i++) { // ~15 pages of 64 KiB per 62 ms tick
                    byte[] page = new byte[64 << 10];
                    ThreadLocalRandom.current().nextBytes(page);
                    index.add(page);
                }
            } else if (index != null) {
                index = null; // the burst is over: all of it becomes garbage
            }
            for (int r = 0; r < 20; r++) { // request churn
                StringBuilder body = new StringBuilder();
                for (int i = 0; i < 200; i++) body.append("row-").append(r).append('-').append(i).append(';');
                sink += body.length() + TABLE.get(r).length;
            }
            if (sink == 42) System.out.println(sink);
            Thread.sleep(index != null ? 62 : 10);
        }
    }
}
