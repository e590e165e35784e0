// A healthy Java loop: every tick it allocates many short-lived objects (maps, strings, arrays)
// and keeps nothing, plus a fixed-size working set allocated once at start. The heap saws under
// young GC over a flat baseline; RSS follows the heap size G1 settles on.
// Used for tests/data/traces/java_churn.csv. Usage: java JavaChurn [tickMs=10] [objects=5000]
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

public final class JavaChurn {
    public static void main(String[] args) throws InterruptedException {
        long tickMs = args.length > 0 ? Long.parseLong(args[0]) : 10;
        int objects = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
        byte[][] workingSet = new byte[1024][];
        for (int i = 0; i < workingSet.length; i++) workingSet[i] = new byte[16 * 1024];
        long sink = 0;
        while (true) {
            List<Map<String, Object>> items = new ArrayList<>();
            for (int i = 0; i < objects; i++) {
                Map<String, Object> item = new HashMap<>();
                item.put("id", i);
                item.put("name", "item-" + i + "-" + ThreadLocalRandom.current().nextLong());
                item.put("data", new int[8]);
                items.add(item);
            }
            for (Map<String, Object> item : items) sink += ((String) item.get("name")).length();
            workingSet[ThreadLocalRandom.current().nextInt(workingSet.length)][0]++;
            if (sink == 42) System.out.println(sink);
            Thread.sleep(tickMs);
        }
    }
}
