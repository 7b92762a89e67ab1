package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.retort.launcher.Retort.Result;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Studies on a real SLURM: {@code .ci/run} starts a one-node cluster (munged, slurmctld, slurmd; {@code .ci/slurm})
 * and exports {@code SLURM_CONF}. {@code kd:ablate --slurm} submits the cells as an array and the merge as a job
 * after it; a task requeued while it trains (SLURM's pre-emption: SIGTERM to every process of the task, then the
 * task starts again) resumes its cell from its checkpoint with the losses of an uninterrupted run. Without a
 * cluster the tests are skipped, saying so; under {@code CI=true} they fail instead.
 */
class SlurmStudyIT {
    private static final long WAIT_MS = 8 * 60_000;

    @BeforeAll
    static void needsACluster() throws Exception {
        String why = unavailable();
        if (why == null) return;
        String message = "SlurmStudyIT: no SLURM cluster answers here (" + why + "); start one with .ci/slurm start DIR and export"
                + " SLURM_CONF=DIR/slurm.conf (.ci/run does both)";
        if ("true".equals(System.getenv("CI"))) fail(message + " — under CI=true the SLURM tests must run");
        System.err.println(message + ": SKIPPED");
        Assumptions.abort(message);
    }

    /** Why no cluster can be used, or null when sinfo shows a usable node. */
    private static String unavailable() throws InterruptedException {
        try {
            Exec r = exec(List.of("sinfo", "-h", "-o", "%T"));
            if (r.status != 0) return "sinfo failed: " + r.out.strip();
            if (!r.out.matches("(?s).*\\b(idle|mixed|allocated)\\b.*")) return "no node is up: sinfo says '" + r.out.strip() + "'";
            return null;
        } catch (IOException e) {
            return "no sinfo on the PATH";
        }
    }

    /** 2 arms × 2 seeds, a few steps each: submitted, merged by the merge job, every seed in the table. */
    @Test
    void aStudySubmittedToSlurmRunsItsCellsAndMergesItself(@TempDir Path work) throws Exception {
        Files.write(work.resolve("grid.cfg"), grid(4, List.of("seeds = 3,4", "baseline = student",
                "arm.1.name = student", "arm.1.modules = none", "arm.2.name = faster", "arm.2.modules = none", "arm.2.lr = 3e-3")));
        long start = System.nanoTime();
        Result submit = Retort.run(work, "", "kd:ablate", "--slurm", "--sbatch", "--cpus-per-task=1 --mem=1500M --time=15", "--throttle", "2",
                "--out", "study", "grid.cfg");
        assertEquals(0, submit.exit(), submit.out() + submit.err());
        String array = group(submit.out(), "array job (\\d+)"), merge = group(submit.out(), "merge job (\\d+)");
        assertTrue(submit.out().contains("kd:ablate --status " + work.resolve("study")), submit.out());
        String script = Files.readString(work.resolve("study/slurm/cells.sh"));
        assertTrue(script.contains("#SBATCH --array=1-4%2") && script.contains("#SBATCH --requeue") && script.contains("#SBATCH --cpus-per-task=1"), script);
        awaitGone(merge);
        double seconds = (System.nanoTime() - start) / 1e9;
        Path md = work.resolve("study/results.md");
        assertTrue(Files.exists(md), "the merge job wrote no table; " + status(work) + slurmLogs(work.resolve("study/slurm")));
        String table = Files.readString(md);
        System.out.printf("SlurmStudyIT: 2 arms × 2 seeds through SLURM (array %s, merge %s) in %.0f s, submission to table%n", array, merge, seconds);
        assertTrue(table.matches("(?s).*\\| 1 \\| student \\| none \\| – \\| 3, 4 \\| \\d+\\.\\d\\d ± \\d+\\.\\d\\d \\| \\d+\\.\\d\\d \\d+\\.\\d\\d \\|.*"), table);
        assertTrue(table.matches("(?s).*\\| 2 \\| faster \\| none \\| lr=3e-3 \\| 3, 4 \\|.*"), table);
        assertTrue(table.contains("Paired gain over 'student'") && table.contains("| 2 | faster | ") && table.contains("– (below 3 seeds)"), table);
        for (String cell : List.of("arm-001-seed-3", "arm-001-seed-4", "arm-002-seed-3", "arm-002-seed-4")) {
            assertTrue(Files.exists(work.resolve("study/rows/" + cell + ".json")), cell);
        }
        // the same seed gives both arms the same data and initialisation: the first step's loss is equal (lr acts after it)
        assertEquals(losses(work.resolve("study/rows/arm-001-seed-3.json")).get(0), losses(work.resolve("study/rows/arm-002-seed-3.json")).get(0));
        assertTrue(!losses(work.resolve("study/rows/arm-001-seed-3.json")).equals(losses(work.resolve("study/rows/arm-001-seed-4.json"))), "seeds differ");
        for (int task = 1; task <= 4; task++) assertTrue(Files.exists(work.resolve("study/slurm/cell-" + array + "_" + task + ".out")), "log of task " + task);
        String status = status(work);
        assertTrue(status.contains("4 of 4 cells have their row") && status.contains("results.md is written"), status);
    }

    /**
     * A cell stopped twice while it trains resumes each time with the losses of an uninterrupted run. First
     * {@code scontrol requeue} (what pre-emption does): SLURM sends SIGTERM to the task's processes, Retort checkpoints
     * at the step boundary and exits 143, SLURM starts the task again. Then {@code scancel --batch --signal=USR1} (what
     * {@code --signal=B:USR1@120} sends before a time limit): the script asks Retort to checkpoint and requeues its own
     * task. The row's losses, every step, equal those of its twin: an arm with the same keys, run as the array's
     * other task at the same time, without interruption.
     */
    @Test
    void aPreemptedCellResumesWithTheLossesOfAnUninterruptedRun(@TempDir Path work) throws Exception {
        int steps = 150;
        Files.write(work.resolve("grid.cfg"), grid(steps, List.of("arm.1.name = student", "arm.1.modules = none", "arm.2.name = twin", "arm.2.modules = none")));
        Result submit = Retort.run(work, "", "kd:ablate", "--slurm", "--sbatch", "--cpus-per-task=1 --mem=1500M", "--out", "study", "grid.cfg");
        assertEquals(0, submit.exit(), submit.out() + submit.err());
        String array = group(submit.out(), "array job (\\d+)"), merge = group(submit.out(), "merge job (\\d+)");
        Path metrics = work.resolve("study/arm-1-seed-3/metrics.jsonl"), trainLog = work.resolve("study/arm-1-seed-3/train.log");
        awaitSteps(work, metrics, 20);
        Exec requeue = exec(List.of("scontrol", "requeue", array + "_1"));
        assertEquals(0, requeue.status, requeue.out);
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (!(Files.exists(trainLog) && Files.readString(trainLog).contains("---- resumed from"))) {
            if (System.currentTimeMillis() > deadline) fail("the requeued cell did not resume; " + status(work) + slurmLogs(work.resolve("study/slurm")));
            Thread.sleep(200);
        }
        int first = resumedAt(Files.readString(trainLog)).get(0);
        awaitSteps(work, metrics, first + 20);
        Exec usr1 = exec(List.of("scancel", "--batch", "--signal=USR1", array + "_1"));
        assertEquals(0, usr1.status, usr1.out);
        awaitGone(merge);

        String log = Files.readString(work.resolve("study/slurm/cell-" + array + "_1.out"));
        Path row = work.resolve("study/rows/arm-001-seed-3.json");
        assertTrue(Files.exists(row), "no row after the requeues; " + status(work) + log);
        assertTrue(log.contains("attempt 1,") && log.contains("attempt 2,") && log.contains("attempt 3,"), "the task ran three times: " + log);
        assertTrue(log.contains("SIGTERM: stopping the run at its next step boundary") && log.contains("exit status 143"), log);
        assertTrue(log.contains("checkpointed before the time limit; requeueing " + array + "_1"), log);
        List<Integer> at = resumedAt(Files.readString(trainLog));
        assertEquals(2, at.size(), "two resumes: " + at);
        assertTrue(at.get(0) >= 20 && at.get(1) >= at.get(0) + 20 && at.get(1) < steps, "resumed at steps " + at);

        // the twin cell ran uninterrupted (the same machine, thread count and keys)
        assertTrue(!Files.readString(work.resolve("study/arm-2-seed-3/train.log")).contains("resumed"), "the twin was not interrupted");
        List<Double> interrupted = losses(row), whole = losses(work.resolve("study/rows/arm-002-seed-3.json"));
        assertEquals(steps, whole.size());
        assertEquals(whole, interrupted, "losses of the cell resumed at steps " + at + " against the uninterrupted run");
        System.out.printf("SlurmStudyIT: cell stopped at steps %s of %d (scontrol requeue, then USR1 before a time limit) and resumed from its"
                + " checkpoint each time; all %d losses equal those of its uninterrupted twin%n", at, steps, steps);
        // a cell that has its row is not run again
        Result again = Retort.run(work, "", "kd:ablate", "--cell", "1", "--out", "study", "grid.cfg");
        assertEquals(0, again.exit(), again.out() + again.err());
        assertTrue(again.out().contains("has its row") && again.out().contains("not run again"), again.out());
    }

    private static void awaitSteps(Path work, Path metrics, int steps) throws Exception {
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (stepsLogged(metrics) < steps) {
            if (System.currentTimeMillis() > deadline) fail("the cell never logged " + steps + " steps; " + status(work) + slurmLogs(work.resolve("study/slurm")));
            Thread.sleep(100);
        }
    }

    /** The steps of train.log's resume markers, in order. */
    private static List<Integer> resumedAt(String trainLog) {
        List<Integer> at = new ArrayList<>();
        Matcher m = Pattern.compile("---- resumed from \\S+last\\.safetensors at step (\\d+)").matcher(trainLog);
        while (m.find()) at.add(Integer.parseInt(m.group(1)));
        return at;
    }

    /** A tiny student-only grid: 32×64 synthetic scenes, a student a few channels wide, one thread, every step logged. */
    private static List<String> grid(int steps, List<String> arms) {
        List<String> lines = new ArrayList<>(List.of("seed = 3", "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 1,1,1,1",
                "student.num_heads = 1,2,3,4", "student.decoder_dim = 16", "dataset = synthetic", "data.height = 32", "data.width = 64",
                "data.train_size = 8", "data.val_size = 4", "batch_size = 2", "iterations = " + steps, "eval_every = " + steps, "eval_batches = 1",
                "decay_per = iteration", "log_every = 1", "threads = 1"));
        if (arms.stream().anyMatch(a -> a.startsWith("seeds"))) lines.remove(0);
        lines.addAll(arms);
        return lines;
    }

    private static String status(Path work) throws IOException, InterruptedException {
        Result r = Retort.run(work, "", "kd:ablate", "--status", "study");
        return r.out() + r.err();
    }

    private static String slurmLogs(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return "";
        StringBuilder b = new StringBuilder();
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".out")).sorted().toList()) b.append("\n--- ").append(f).append('\n').append(Files.readString(f));
        }
        return b.toString();
    }

    /** Waits until squeue no longer knows the job (it ended, whichever way). */
    private static void awaitGone(String job) throws IOException, InterruptedException {
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (System.currentTimeMillis() < deadline) {
            Exec q = exec(List.of("squeue", "-h", "-j", job, "-o", "%T"));
            if (q.status != 0 || q.out.isBlank()) return;
            Thread.sleep(1000);
        }
        fail("job " + job + " still queued after " + WAIT_MS / 1000 + " s");
    }

    private static int stepsLogged(Path metrics) throws IOException {
        if (!Files.exists(metrics)) return 0;
        return (int) Files.readAllLines(metrics).stream().filter(l -> l.contains("\"type\":\"STEP\"")).count();
    }

    private static List<Double> losses(Path row) throws IOException {
        JsonObject o = JsonParser.parseString(Files.readString(row)).getAsJsonObject();
        List<Double> values = new ArrayList<>();
        JsonArray a = o.getAsJsonArray("losses");
        for (JsonElement e : a) values.add(e.isJsonNull() ? Double.NaN : e.getAsDouble());
        return values;
    }

    private static String group(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), regex + " in " + text);
        return m.group(1);
    }

    private record Exec(int status, String out) {}

    private static Exec exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not answer");
        }
        return new Exec(p.exitValue(), out);
    }
}
