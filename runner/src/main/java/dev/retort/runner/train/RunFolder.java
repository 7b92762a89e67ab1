package dev.retort.runner.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.retort.safetensors.TensorSource;
import dev.retort.weights.WeightFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A run folder claimed by one run: an exclusive lock on {@code .retort.lock} for the life of the run (the operating
 * system releases it when the process dies, so a killed run never blocks the next), no reuse of a folder holding
 * another run's files unless the run resumes or overwrites, and no temporary files of interrupted checkpoint writes.
 */
public final class RunFolder implements AutoCloseable {
    static final String LOCK = ".retort.lock";
    /** The default preparation cache's folder name inside a run folder. */
    static final String PREPARATIONS = "preparations";
    /** The files a run writes; {@code --overwrite} deletes these and nothing else. */
    static final List<String> RUN_FILES = List.of("metrics.jsonl", "train.log", "run.cfg", "last.safetensors", "best.safetensors");

    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;
    private final List<String> notes = new ArrayList<>();

    private RunFolder(Path dir, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code dir} for a run.
     *
     * @param resume the checkpoint the run continues from, or null for a new run
     * @param overwrite a new run may replace the run files found in the folder
     * @throws IllegalStateException when another run holds the folder, or when a new run would mix with an earlier one
     */
    public static RunFolder claim(Path dir, Path resume, boolean overwrite) throws IOException {
        boolean newDir = !Files.isDirectory(dir);
        Files.createDirectories(dir);
        Path lockFile = dir.resolve(LOCK);
        boolean newLock = !Files.exists(lockFile);
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;  // held by another run of this process
        }
        if (lock == null) {
            String owner = new String(Files.readAllBytes(lockFile), StandardCharsets.UTF_8).strip();
            channel.close();
            throw new IllegalStateException("run folder " + dir + " is in use by another run" + (owner.isEmpty() ? "" : " (" + owner + ")")
                    + "; wait for it to end, kd:stop it, or choose another output");
        }
        RunFolder folder = new RunFolder(dir, channel, lock);
        try {
            channel.truncate(0);
            channel.write(StandardCharsets.UTF_8.encode("process " + ProcessHandle.current().pid() + "\n"), 0);
            folder.removeInterruptedWrites();
            if (resume == null) folder.checkNew(overwrite);
            return folder;
        } catch (IOException | RuntimeException e) {
            // a refused run leaves nothing behind: the lock file (and the folder) it created go, still under the lock
            if (newLock) Files.deleteIfExists(lockFile);
            folder.close();
            if (newDir) deleteIfEmpty(dir);
            throw e;
        }
    }

    private static void deleteIfEmpty(Path dir) {
        try {
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // not empty (someone else's files, a checkpoint of another run): it stays
        }
    }

    private void checkNew(boolean overwrite) throws IOException {
        List<String> found;
        try (Stream<Path> files = Files.list(dir)) {
            // the preparation cache is no run's result: any run of the folder may reuse it
            found = files.map(p -> p.getFileName().toString()).filter(n -> !n.equals(LOCK) && !n.equals(PREPARATIONS)).sorted().toList();
        }
        if (found.isEmpty()) return;
        if (!overwrite && neverTrained(found)) {
            // A run that failed before its first step (a module that cannot be built, a missing file) left only its
            // log: there is no result to protect, and the user who fixed the cause should not need --overwrite.
            List<String> deleted = new ArrayList<>();
            for (String name : RUN_FILES) {
                if (Files.deleteIfExists(dir.resolve(name))) deleted.add(name);
            }
            notes.add("replaced " + String.join(", ", deleted) + " of an earlier run that ended before its first step");
            return;
        }
        if (!overwrite) {
            throw new IllegalStateException("run folder " + dir + " is not empty (" + String.join(", ", found.subList(0, Math.min(6, found.size())))
                    + (found.size() > 6 ? ", …" : "") + "): continue its run with --resume " + dir.resolve("last.safetensors")
                    + ", start it again with --overwrite, or choose another output");
        }
        List<String> deleted = new ArrayList<>();
        for (String name : RUN_FILES) {
            if (Files.deleteIfExists(dir.resolve(name))) deleted.add(name);
        }
        if (!deleted.isEmpty()) notes.add("--overwrite: deleted the earlier run's " + String.join(", ", deleted));
    }

    /** Only run files, no checkpoint, and no step in the metrics: the folder's run never trained. */
    private boolean neverTrained(List<String> found) throws IOException {
        if (!RUN_FILES.containsAll(found) || found.contains("last.safetensors") || found.contains("best.safetensors")) return false;
        Path metrics = dir.resolve("metrics.jsonl");
        if (!Files.exists(metrics)) return true;
        try (Stream<String> lines = Files.lines(metrics, StandardCharsets.UTF_8)) {
            return lines.noneMatch(l -> l.contains("\"type\":\"STEP\"") || l.contains("\"type\":\"CHECKPOINT\""));
        }
    }

    /** Temporary files of checkpoint writes a killed process left ({@code .last.safetensors<random>.tmp}). */
    private void removeInterruptedWrites() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(RunFolder::interruptedWrite).toList()) {
                long size = Files.size(p);
                Files.deleteIfExists(p);
                notes.add(String.format("removed %s (%,d bytes) left by an interrupted checkpoint write", p.getFileName(), size));
            }
        }
    }

    static boolean interruptedWrite(Path p) {
        String n = p.getFileName().toString();
        return n.startsWith(".") && n.endsWith(".tmp") && n.contains(".safetensors");
    }

    /**
     * Cuts {@code metrics.jsonl} back to the state of a checkpoint taken after {@code step} steps: the events the
     * interrupted process logged after that checkpoint are dropped, so a resumed run logs each step once.
     *
     * @return the number of lines dropped
     */
    int truncateMetrics(long step) throws IOException {
        Path file = dir.resolve("metrics.jsonl");
        if (!Files.exists(file)) return 0;
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        int keep = -1;
        for (int i = 0; i < lines.size(); i++) {
            JsonObject o = parse(lines.get(i));
            if (o != null && "CHECKPOINT".equals(str(o, "type")) && o.has("step") && o.get("step").getAsLong() == step) keep = i + 1;
        }
        List<String> kept = new ArrayList<>();
        if (keep >= 0) {
            kept.addAll(lines.subList(0, keep));
        } else {
            // no record of that checkpoint here: keep what happened before it (steps are numbered from 0, evaluations after the step)
            for (String l : lines) {
                JsonObject o = parse(l);
                if (o == null || !o.has("step")) continue;
                long s = o.get("step").getAsLong();
                if (s < step || (s == step && !"STEP".equals(str(o, "type")))) kept.add(l);
            }
        }
        int dropped = lines.size() - kept.size();
        if (dropped > 0) {
            Path tmp = dir.resolve(".metrics.jsonl.tmp");
            Files.write(tmp, kept, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return dropped;
    }

    /** The step a run checkpoint was taken at (its {@code retort.step} metadata). */
    static long checkpointStep(Path checkpoint) throws IOException {
        try (TensorSource f = WeightFiles.open(checkpoint)) {
            return Long.parseLong(f.metadata().getOrDefault("retort.step", "0"));
        }
    }

    private static JsonObject parse(String line) {
        try {
            return JsonParser.parseString(line).getAsJsonObject();
        } catch (RuntimeException e) {
            return null;  // a line cut short by a killed process
        }
    }

    private static String str(JsonObject o, String key) {
        return o.has(key) ? o.get(key).getAsString() : null;
    }

    public Path dir() {
        return dir;
    }

    /** What claiming the folder cleaned up, for the run's log. */
    List<String> notes() {
        return List.copyOf(notes);
    }

    @Override
    public void close() {
        try {
            if (lock.isValid()) lock.release();
            channel.close();
        } catch (IOException ignored) {
            // the lock goes with the process anyway
        }
    }
}
