package dev.retort.study;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * {@code kd:ablate --status DIR}: every cell of a study folder — done (it has its row), running or pending (from
 * {@code squeue}, and {@code sacct} where accounting answers, for a study submitted with {@code --slurm}; otherwise
 * from the cell folder's run lock), stopped with a checkpoint, failed (with the last lines of its {@code train.log}
 * and of its task's SLURM log), or not started.
 */
final class StudyStatus {
    /** Lines of a failed cell's logs shown. */
    static final int TAIL = 4;

    private StudyStatus() {}

    static String report(Study.Ablation study) throws IOException, InterruptedException {
        Path out = study.output();
        Properties jobs = new Properties();
        Path jobsFile = SlurmStudy.folder(out).resolve("jobs");
        if (Files.exists(jobsFile)) {
            try (var r = Files.newBufferedReader(jobsFile)) {
                jobs.load(r);
            }
        }
        String array = jobs.getProperty("array"), merge = jobs.getProperty("merge");
        Map<String, String> scheduler = array == null ? Map.of() : schedulerStates(array, merge);
        StringBuilder b = new StringBuilder("study " + out + " (" + study.file().getFileName() + "): " + study.cells().size() + " cells, "
                + study.arms().size() + " arms × seeds " + study.seeds() + (array == null ? "" : "; SLURM array " + array + ", merge job " + merge) + "\n");
        if (array != null && scheduler.isEmpty()) b.append("  (squeue/sacct know none of the study's jobs now: states below come from the folders)\n");
        int done = 0, stopped = 0;
        for (Study.Cell c : study.cells()) {
            String state;
            Optional<Study.Row> row = Study.existingRow(out, c);
            String queued = array == null ? null : scheduler.get(array + "_" + c.number());
            Path folder = c.plan().output();
            if (row.isPresent()) {
                done++;
                state = String.format("done: mIoU %.2f%%, %d steps", 100 * row.get().miou(), row.get().steps());
            } else if (queued != null && !queued.startsWith("COMPLETED") && !queued.startsWith("FAILED") && !queued.startsWith("CANCELLED")
                    && !queued.startsWith("TIMEOUT") && !queued.startsWith("OUT_OF_MEMORY") && !queued.startsWith("NODE_FAIL")) {
                state = queued.toLowerCase() + " (SLURM)" + checkpointNote(folder);
            } else if (locked(folder)) {
                state = "running (its folder is locked by a process" + owner(folder) + ")" + checkpointNote(folder);
            } else if (Files.isRegularFile(folder.resolve("last.safetensors"))) {
                stopped++;
                state = "stopped with a checkpoint" + checkpointNote(folder) + (queued != null ? " — SLURM: " + queued.toLowerCase() : "")
                        + "; running the cell again resumes it" + tails(folder, array, c);
            } else if (Files.isDirectory(folder) || queued != null) {
                stopped++;
                state = "failed" + (queued != null ? " (SLURM: " + queued.toLowerCase() + ")" : "") + tails(folder, array, c);
            } else {
                state = "not started";
            }
            b.append(String.format("  cell %d  arm %d '%s'  seed %d: %s%n", c.number(), c.arm().index(), c.arm().name(), c.seed(), state));
        }
        b.append(String.format("%d of %d cells have their row", done, study.cells().size()));
        if (merge != null && scheduler.containsKey(merge)) b.append("; merge job ").append(merge).append(": ").append(scheduler.get(merge).toLowerCase());
        boolean merged = Files.exists(out.resolve("results.md"));
        b.append(merged ? "; results.md is written" : "").append('\n');
        if (stopped > 0) {
            b.append("run a cell again: kd:ablate --cell N --out ").append(out).append(' ').append(study.file())
                    .append(" (it resumes from its checkpoint), then kd:ablate --merge --out ").append(out).append(' ').append(study.file()).append('\n');
        }
        return b.toString();
    }

    /** Job id (array tasks as {@code <array>_<index>}) → state, from squeue, then sacct where it answers; empty without either. */
    static Map<String, String> schedulerStates(String array, String merge) throws InterruptedException {
        Map<String, String> states = new HashMap<>();
        String jobs = array + (merge != null ? "," + merge : "");
        try {
            // sacct first: squeue's view of the jobs still queued is the fresher one and overrides it
            SlurmStudy.Result acct = SlurmStudy.exec(List.of("sacct", "-n", "-P", "-X", "-j", jobs, "-o", "JobID,State,ExitCode"), 30);
            if (acct.status() == 0) {
                acct.output().lines().map(l -> l.split("\\|")).filter(f -> f.length >= 3)
                        .forEach(f -> states.put(f[0], f[1] + ("0:0".equals(f[2]) ? "" : " exit " + f[2])));
            }
        } catch (IOException | IllegalStateException e) {
            // no accounting here (or no sacct): squeue alone
        }
        try {
            SlurmStudy.Result q = SlurmStudy.exec(List.of("squeue", "-h", "-r", "-j", jobs, "-o", "%i|%T|%r"), 30);
            if (q.status() == 0) {
                q.output().lines().map(l -> l.split("\\|")).filter(f -> f.length >= 3)
                        .forEach(f -> states.put(f[0], f[1] + ("None".equals(f[2]) || f[2].isBlank() ? "" : " (" + f[2] + ")")));
            }
        } catch (IOException | IllegalStateException e) {
            // no squeue on this machine: the folders' locks say what runs here
        }
        return states;
    }

    /** Whether a process holds the cell folder's run lock (the runner's {@code .retort.lock}). */
    static boolean locked(Path folder) throws IOException {
        Path lock = folder.resolve(".retort.lock");
        if (!Files.exists(lock)) return false;
        try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) return true;
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true;  // held by a run of this process
        }
    }

    private static String owner(Path folder) {
        try {
            String o = Files.readString(folder.resolve(".retort.lock")).strip();
            return o.isEmpty() ? "" : ": " + o;
        } catch (IOException e) {
            return "";
        }
    }

    private static String checkpointNote(Path folder) {
        Path last = folder.resolve("last.safetensors");
        return Files.isRegularFile(last) ? ", checkpoint " + last.getFileName() : "";
    }

    /** The last lines of the cell's train.log and of its SLURM log, each line indented under the cell. */
    private static String tails(Path folder, String array, Study.Cell c) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append(tail(folder.resolve("train.log")));
        if (array != null) b.append(tail(SlurmStudy.folder(folder.getParent()).resolve("cell-" + array + "_" + c.number() + ".out")));
        return b.toString();
    }

    private static String tail(Path file) throws IOException {
        if (!Files.isRegularFile(file)) return "";
        List<String> lines;
        try (Stream<String> all = Files.lines(file)) {
            lines = all.filter(l -> !l.isBlank()).toList();
        }
        StringBuilder b = new StringBuilder("\n      " + file + ":");
        for (String l : lines.subList(Math.max(0, lines.size() - TAIL), lines.size())) b.append("\n        ").append(l.strip());
        return b.toString();
    }
}
