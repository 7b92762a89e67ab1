package dev.retort.runner.teachercache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.retort.nn.HostTransfers;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.distill.DistillationModule;
import dev.retort.api.run.RunConfig;
import dev.retort.runner.data.DataPlan;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.nn.ArrayScope;
import dev.retort.datasets.Batch;
import dev.retort.safetensors.DType;
import java.io.IOException;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The teacher's forward pass of a run's training steps, through the teacher-output cache when {@code teacher.cache}
 * is on. The modules get the taps they read (the union of {@link DistillationModule#teacherTaps()}, every tap when a
 * module does not say), computed in a scope of their own that frees everything else of the forward, and, with the
 * cache on, the same values whether the batch was read from the cache or computed now
 * (and whether or not it could be stored), so a run's loss sequence does not depend on what was cached: in memory the
 * teacher's own arrays are kept (the losses are those of {@code teacher.cache = off}, bit for bit); on disk every tap
 * goes through bf16, computed or read alike (a precision choice: the losses differ from float32 taps in low bits).
 *
 * <p>A batch is identified by (epoch, batch index) under a key of everything its taps depend on ({@link #describe}):
 * the batch order and each sample's augmentation draw are functions of (seed, epoch, position) alone, so the same key,
 * epoch and index always hold the same samples with the same draws; the samples' ids are stored and checked too.
 */
public final class TeacherTaps implements AutoCloseable {
    private final CacheSettings.Mode mode;
    private final MemoryStore memory;
    private final DiskStore disk;
    private final String network;
    private final List<String> allTaps;
    private final Consumer<String> log;
    /** Damaged entries named one by one in the log; the rest are counted at the end. */
    private static final int DROPS_SAID = 5;
    private long read, computed, stored, dropped;
    private boolean fullSaid, mismatchSaid, failureSaid, nonFiniteSaid;

    private TeacherTaps(CacheSettings.Mode mode, MemoryStore memory, DiskStore disk, SegmentationNetwork teacher, Consumer<String> log) {
        this.mode = mode;
        this.memory = memory;
        this.disk = disk;
        this.network = teacher.spec().taps().network();
        this.allTaps = teacher.spec().taps().taps().stream().map(TapSpec::name).toList();
        this.log = log;
    }

    /**
     * The teacher pass of a run: plain when {@code teacher.cache = off}, else through the store of the run's key.
     *
     * @param device the device the teacher runs on (part of the key: another device computes other low bits)
     */
    public static TeacherTaps open(CacheSettings cache, RunConfig run, DataPlan data, Map<String, String> source, SegmentationNetwork teacher,
                                   String device, Consumer<String> log) throws IOException {
        cache.unused().forEach(k -> log.accept("teacher cache: " + k + " is set but teacher.cache = " + cache.mode().name().toLowerCase(Locale.ROOT)
                + " does not read it"));
        if (cache.mode() == CacheSettings.Mode.OFF) return new TeacherTaps(cache.mode(), null, null, teacher, log);
        boolean onDisk = cache.mode() == CacheSettings.Mode.DISK;
        long t0 = System.nanoTime();
        String description = describe(run, data, source, WeightDigest.of(teacher), device, onDisk ? "bf16" : "the teacher's arrays (memory)");
        String key = WeightDigest.hex(description, 24);
        double hashSeconds = (System.nanoTime() - t0) / 1e9;
        TeacherTaps t = onDisk ? new TeacherTaps(cache.mode(), null, DiskStore.open(cache.folder(), key, description, cache.limit()), teacher, log)
                : new TeacherTaps(cache.mode(), MemoryStore.open(key, cache.limit()), null, teacher, log);
        log.accept(String.format(Locale.ROOT, "teacher cache: %s, key %s (teacher weights hashed in %.1f s), %d batch(es) present, %s of %s used, in %s;"
                        + " the modules get the teacher's taps %s", cache.mode().name().toLowerCase(Locale.ROOT), key, hashSeconds, t.store().entries(),
                CacheSettings.human(t.store().used()), CacheSettings.human(t.store().limit()), t.store().where(),
                onDisk ? "rounded to bf16 (as stored), computed or read alike" : "exactly as the teacher computes them"));
        return t;
    }

    /**
     * What a cached tap depends on, as text (hashed into the key; a disk cache writes it into {@code key.txt}): the
     * teacher (variant, every {@code teacher.} key but the cache's own and the weights' path, the weights' content), the
     * data (dataset, root, split, protocol, options as the training split is opened), the order and the draws (seed,
     * batch size), the device and the storage.
     */
    static String describe(RunConfig run, DataPlan data, Map<String, String> source, String weights, String device, String storage) {
        Map<String, String> teacherKeys = new TreeMap<>();
        source.forEach((k, v) -> {
            if (k.startsWith("teacher.") && !k.equals("teacher.weights") && !CacheSettings.TEACHER_KEYS.contains(k.substring(8))) teacherKeys.put(k, v);
        });
        Map<String, String> options = data.trainOptionsText();  // as the loop opens the training split
        return "Retort teacher cache, format 1\n"
                + "teacher " + run.teacher().variant() + " " + teacherKeys + " weights sha256 " + weights + "\n"
                + "data " + run.data().dataset() + " root " + run.data().root() + " split " + run.data().trainSplit() + " protocol " + run.data().protocol()
                + " options " + options + "\n"
                + "order seed " + run.seed() + " batch " + run.optimisation().batchSize() + " (the shuffle and every augmentation draw follow from seed, epoch and position)\n"
                + "device " + device + "\n"
                + "storage " + storage + "\n";
    }

    /** The teacher taps the modules read: the union of what they declare, or null (every tap) when one does not say. */
    public static Set<String> needed(Collection<DistillationModule> modules) {
        Set<String> taps = new TreeSet<>();
        for (DistillationModule m : modules) {
            Optional<Set<String>> t = m.teacherTaps();
            if (t.isEmpty()) return null;
            taps.addAll(t.get());
        }
        return taps;
    }

    /**
     * The teacher's taps for one training batch: read from the cache, or computed (and stored, when the limit allows).
     *
     * @param epoch   the batch's epoch (1-based) and {@code batch.index()} its position in the epoch: they name the entry
     * @param modules the active modules, whose {@link DistillationModule#teacherTaps()} say what is needed
     * @param step    the step's manager: the returned arrays belong to it
     */
    public TapValues forward(SegmentationNetwork teacher, NDArray images, Batch batch, int epoch, Collection<DistillationModule> modules, NDManager step) {
        Set<String> declared = needed(modules);
        Set<String> wanted = declared == null ? new TreeSet<>(allTaps) : declared;
        if (wanted.isEmpty()) return new TapValues(network, Map.of());
        if (mode == CacheSettings.Mode.OFF) return compute(teacher, images, wanted, step);
        String shard = DiskStore.shardName(epoch, batch.index());
        return mode == CacheSettings.Mode.MEMORY ? fromMemory(teacher, images, batch, shard, wanted, step) : fromDisk(teacher, images, batch, shard, wanted, step);
    }

    /**
     * The teacher's forward in a scope of its own: the {@code wanted} taps move to the step's manager, and every other
     * array of the forward (the other taps, the intermediates) is released before the student's forward begins.
     */
    private TapValues compute(SegmentationNetwork teacher, NDArray images, Set<String> wanted, NDManager step) {
        try (ArrayScope scope = ArrayScope.over(images)) {
            TapValues all = teacher.forward(images, false, wanted);
            Map<String, NDArray> kept = new LinkedHashMap<>();
            for (String tap : wanted) kept.put(tap, scope.keep(all.get(tap), step));
            return new TapValues(network, kept);
        }
    }

    private TapValues fromMemory(SegmentationNetwork teacher, NDArray images, Batch batch, String shard, Set<String> wanted, NDManager step) {
        MemoryStore.Batch have = memory.get(shard);
        boolean sameSamples = have == null || sameSamples(shard, have.ids(), batch);
        if (!sameSamples) have = null;
        Map<String, NDArray> taps = new LinkedHashMap<>();
        if (have != null && have.taps().keySet().containsAll(wanted)) {
            read++;
            for (String tap : wanted) {
                NDArray copy = have.taps().get(tap).duplicate();
                copy.attach(step);
                taps.put(tap, copy);
            }
            return new TapValues(network, taps);
        }
        computed++;
        taps.putAll(compute(teacher, images, wanted, step).values());
        if (sameSamples) {
            if (memory.put(shard, batch.ids(), taps)) stored++;
            else full();
        }
        return new TapValues(network, taps);
    }

    private TapValues fromDisk(SegmentationNetwork teacher, NDArray images, Batch batch, String shard, Set<String> wanted, NDManager step) {
        Entry have = null;
        long unverifiedBefore = disk.unverified();
        try {
            have = disk.read(shard, wanted);
        } catch (DiskStore.Damaged e) {
            if (++dropped <= DROPS_SAID) {
                log.accept("WARNING teacher cache " + disk.where() + ": " + e.getMessage() + "; the entry was dropped and batch " + shard
                        + " is computed again" + (dropped == DROPS_SAID ? " (further dropped entries are counted at the end)" : ""));
            }
        } catch (IOException | RuntimeException e) {
            if (!failureSaid) log.accept("WARNING teacher cache: " + shard + " cannot be read (" + e.getMessage() + "); computing it again");
            failureSaid = true;
        }
        if (unverifiedBefore == 0 && disk.unverified() > 0) {
            log.accept("teacher cache " + disk.where() + ": its entries carry no checksums (written before Retort checksummed its files);"
                    + " they are read without verification");
        }
        boolean sameSamples = have == null || sameSamples(shard, have.ids(), batch);
        if (!sameSamples) have = null;
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        if (have != null && have.values().keySet().containsAll(wanted)) {
            read++;
        } else {
            computed++;
            try (ArrayScope scope = ArrayScope.over(images)) {  // the taps are read out; every array of the forward is released
                TapValues fresh = teacher.forward(images, false, wanted);
                for (String tap : wanted) {
                    if (have != null && have.values().containsKey(tap)) continue;  // what readers of the entry get
                    NDArray a = fresh.get(tap);
                    float[] v = HostTransfers.floats(a.getDataType() == DataType.FLOAT32 ? a : a.toType(DataType.FLOAT32, false));
                    DType.BF16.roundInPlace(v);
                    values.put(tap, v);
                    shapes.put(tap, a.getShape().getShape());
                }
            }
            boolean finite = values.values().stream().allMatch(TeacherTaps::finite);
            if (!finite && !nonFiniteSaid) {
                log.accept("WARNING teacher cache " + disk.where() + ": the teacher computed NaN or infinite taps for batch " + shard
                        + "; such batches are not stored");
                nonFiniteSaid = true;
            }
            if (sameSamples && finite) store(shard, have, values, shapes, batch.ids());
        }
        Map<String, NDArray> taps = new LinkedHashMap<>();
        for (String tap : wanted) {
            float[] v = values.containsKey(tap) ? values.get(tap) : have.values().get(tap);
            long[] shape = shapes.containsKey(tap) ? shapes.get(tap) : have.shapes().get(tap);
            taps.put(tap, HostTransfers.upload(step, v, new Shape(shape)));  // the cache's price: one upload per tap
        }
        return new TapValues(network, taps);
    }

    private static boolean finite(float[] v) {
        for (float x : v) if (!Float.isFinite(x)) return false;
        return true;
    }

    private boolean sameSamples(String shard, List<String> ids, Batch batch) {
        if (ids.equals(batch.ids())) return true;
        if (!mismatchSaid) {
            log.accept("WARNING teacher cache: " + shard + " holds samples " + ids + " but the batch is " + batch.ids()
                    + " (the dataset changed under the same key?); such batches are computed and not cached");
        }
        mismatchSaid = true;
        return false;
    }

    private void store(String shard, Entry have, Map<String, float[]> values, Map<String, long[]> shapes, List<String> ids) {
        Map<String, float[]> all = new LinkedHashMap<>();
        Map<String, long[]> allShapes = new LinkedHashMap<>();
        try {
            Entry whole = have == null ? null : disk.read(shard, null);  // every tap it holds, to keep them
            if (whole != null && whole.ids().equals(ids)) {
                all.putAll(whole.values());
                allShapes.putAll(whole.shapes());
            }
        } catch (IOException | RuntimeException e) {
            // replaced by the new entry: it holds what this run computed
        }
        all.putAll(values);
        allShapes.putAll(shapes);
        try {
            if (disk.write(shard, new Entry(ids, all, allShapes))) stored++;
            else full();
        } catch (IOException | RuntimeException e) {
            if (!failureSaid) log.accept("WARNING teacher cache: " + shard + " cannot be written (" + e.getMessage() + "); the run goes on without storing it");
            failureSaid = true;
        }
    }

    private void full() {
        if (fullSaid) return;
        fullSaid = true;
        TapStore s = store();
        log.accept("teacher cache: the limit is reached (" + CacheSettings.human(s.used()) + " used of " + CacheSettings.human(s.limit())
                + ", teacher.cache_limit) in " + (s == memory ? "memory" : s.where()) + "; the run goes on and computes the teacher for the batches not cached,"
                + " without storing them" + (mode == CacheSettings.Mode.DISK ? " (rounded to bf16 all the same, so the results do not depend on where the limit fell)" : ""));
    }

    /** The store in use (the cache is on). */
    private TapStore store() {
        return disk != null ? disk : memory;
    }

    /** Batches read from the cache, computed, stored. */
    public long[] counts() {
        return new long[] {read, computed, stored};
    }

    /** Says what the cache did (with the cache on) and lets go of the store. */
    @Override
    public void close() {
        if (mode == CacheSettings.Mode.OFF) return;
        TapStore s = store();
        log.accept("teacher cache: " + read + " batch(es) read, " + computed + " computed, " + stored + " stored; " + s.where() + " holds "
                + CacheSettings.human(s.used()) + " of " + CacheSettings.human(s.limit()));
        if (dropped > 0) log.accept("WARNING teacher cache " + s.where() + ": " + dropped + " damaged entr" + (dropped == 1 ? "y" : "ies")
                + " (checksum mismatch or NaN/infinite values) dropped and computed again");
        if (memory != null) memory.close();
    }
}
