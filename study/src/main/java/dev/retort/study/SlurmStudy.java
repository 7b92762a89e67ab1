package dev.retort.study;

import dev.retort.api.error.RetortConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * {@code kd:ablate --slurm}: writes the study's two job scripts into {@code <out>/slurm/} and submits them with
 * {@code sbatch}: an array with one task per cell (the array index is the cell number) and a merge job that runs
 * once every task has succeeded ({@code --dependency=afterok:<array>}). Nothing here schedules anything: SLURM
 * does, with the options the user passes through.
 *
 * <p>Pre-emption: a cell's task is submitted with {@code --requeue}. SLURM signals every process of a task it
 * pre-empts or requeues with SIGTERM; Retort stops at the next step boundary, writes {@code last.safetensors} and
 * exits 143, and the requeued task resumes the cell from that checkpoint. Before a time limit
 * ({@code --signal=B:USR1@120}, the script's default) only the script hears USR1: it asks Retort to checkpoint
 * (SIGTERM) and requeues its own task.
 */
final class SlurmStudy {
    /** Seconds before the time limit at which a task checkpoints and requeues itself (the script's --signal). */
    static final int GRACE_SECONDS = 120;

    /**
     * @param sbatch      options for every cell's task, passed through (partition, time, --gres/--gpus, CPUs, memory, account)
     * @param mergeSbatch options for the merge job; {@code null}: the cells' options without their GPU requests
     * @param throttle    at most this many cells at once (the array's {@code %}); 0 for no limit
     */
    record Options(List<String> sbatch, List<String> mergeSbatch, int throttle, boolean dryRun) {}

    /** The scripts of a study, and the jobs once submitted. */
    record Submission(Path cells, Path merge, String arrayJob, String mergeJob) {}

    private SlurmStudy() {}

    /** What kd:ablate --slurm prints: the jobs (or the scripts of a dry run), the folder, and how to watch. */
    static String describe(Study.Ablation study, Submission s) {
        Path out = study.output();
        StringBuilder b = new StringBuilder();
        b.append("study ").append(study.file().getFileName()).append(": ").append(study.cells().size()).append(" cells (").append(study.arms().size())
                .append(" arms × seeds ").append(study.seeds()).append("), one array task per cell\n");
        b.append("  job scripts: ").append(s.cells()).append(", ").append(s.merge()).append('\n');
        if (s.arrayJob() == null) {
            b.append("  dry run: nothing submitted; submit with\n    array=$(sbatch --parsable ").append(s.cells()).append(")\n")
                    .append("    sbatch --dependency=afterok:$array --kill-on-invalid-dep=yes ").append(s.merge()).append('\n');
            return b.toString();
        }
        b.append("  submitted: array job ").append(s.arrayJob()).append(" (tasks ").append(s.arrayJob()).append("_1 … ").append(s.arrayJob()).append('_')
                .append(study.cells().size()).append("), merge job ").append(s.mergeJob()).append(" (after every task succeeded)\n");
        b.append("  study folder: ").append(out).append(" (task logs: ").append(folder(out)).append("/cell-").append(s.arrayJob()).append("_N.out)\n");
        b.append("  watch: squeue -r -j ").append(s.arrayJob()).append(',').append(s.mergeJob()).append("   or   java -jar retort.jar kd:ablate --status ")
                .append(out).append('\n');
        b.append("  results: ").append(out.resolve("results.md")).append(" once the merge job has run\n");
        return b.toString();
    }

    static Path folder(Path output) {
        return output.resolve("slurm");
    }

    /** Writes the scripts and, unless a dry run, submits them. */
    static Submission submit(Study.Ablation study, Options options, List<String> retort) throws IOException, InterruptedException {
        if (options.throttle() < 0) throw new RetortConfigException("--throttle must be >= 0 (0: no limit), got " + options.throttle());
        Path dir = Files.createDirectories(folder(study.output()));
        Path cells = dir.resolve("cells.sh"), merge = dir.resolve("merge.sh");
        writeScript(cells, cellsScript(study, options, retort));
        writeScript(merge, mergeScript(study, options, retort));
        if (options.dryRun()) return new Submission(cells, merge, null, null);
        String array = sbatch(List.of(cells.toString()));
        String merged = sbatch(List.of("--dependency=afterok:" + array, "--kill-on-invalid-dep=yes", merge.toString()));
        Files.writeString(dir.resolve("jobs"), "array=" + array + "\nmerge=" + merged + "\n");
        return new Submission(cells, merge, array, merged);
    }

    static String cellsScript(Study.Ablation study, Options options, List<String> retort) {
        int n = study.cells().size();
        Path out = study.output();
        StringBuilder s = new StringBuilder("#!/bin/bash\n");
        s.append("# Retort study ").append(study.file()).append(": one array task per cell, the array index is the cell number.\n");
        s.append("# Written by kd:ablate --slurm; submitted as: sbatch ").append(folder(out).resolve("cells.sh")).append('\n');
        s.append("#SBATCH --job-name=").append(jobName(study)).append('\n');
        s.append("#SBATCH --array=1-").append(n).append(options.throttle() > 0 ? "%" + options.throttle() : "").append('\n');
        s.append("#SBATCH --output=").append(folder(out).resolve("cell-%A_%a.out")).append('\n');
        s.append("#SBATCH --open-mode=append\n");
        s.append("#SBATCH --requeue\n");
        s.append("#SBATCH --signal=B:USR1@").append(GRACE_SECONDS).append('\n');
        for (String o : grouped(options.sbatch())) s.append("#SBATCH ").append(o).append('\n');
        s.append("#\n# cells:\n");
        for (Study.Cell c : study.cells()) s.append("#   ").append(c.number()).append(" = arm ").append(c.arm().index()).append(" '").append(c.arm().name())
                .append("', seed ").append(c.seed()).append('\n');
        s.append("set -u\n");
        s.append("cd ").append(quote(Path.of("").toAbsolutePath().toString())).append('\n');
        s.append("RETORT=(").append(retort.stream().map(SlurmStudy::quote).collect(Collectors.joining(" "))).append(")\n");
        s.append("echo \"retort: cell $SLURM_ARRAY_TASK_ID, job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname), attempt $((${SLURM_RESTART_COUNT:-0} + 1)), $(date -u +%FT%TZ)\"\n");
        s.append("requeue=0\n");
        s.append("# Pre-emption and scontrol requeue signal every process of the task: Retort checkpoints by itself, the script waits.\n");
        s.append("trap ':' TERM\n");
        s.append("# --signal=B:USR1@").append(GRACE_SECONDS).append(" (before the time limit) reaches only this script: checkpoint, then requeue this task.\n");
        s.append("trap 'requeue=1; kill -TERM \"$pid\" 2>/dev/null' USR1\n");
        s.append("\"${RETORT[@]}\" kd:ablate --cell \"$SLURM_ARRAY_TASK_ID\" --out ").append(quote(out.toString())).append(' ')
                .append(quote(study.file().toString())).append(" &\n");
        s.append("pid=$!\n");
        s.append("while kill -0 \"$pid\" 2>/dev/null; do wait \"$pid\"; done\n");
        s.append("wait \"$pid\"; status=$?\n");
        s.append("if [ \"$requeue\" = 1 ] && [ \"$status\" = 143 ]; then\n");
        s.append("  echo \"retort: checkpointed before the time limit; requeueing ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}, which resumes the cell\"\n");
        s.append("  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"\n");
        s.append("fi\n");
        s.append("# 0: the cell has its row; 1: it failed (see its train.log); 143: stopped by SIGTERM with its checkpoint written\n");
        s.append("exit \"$status\"\n");
        return s.toString();
    }

    static String mergeScript(Study.Ablation study, Options options, List<String> retort) {
        Path out = study.output();
        StringBuilder s = new StringBuilder("#!/bin/bash\n");
        s.append("# Retort study ").append(study.file()).append(": merges the cells' rows into results.md/.csv and the plots.\n");
        s.append("# Submitted after the cells' array: sbatch --dependency=afterok:<array> --kill-on-invalid-dep=yes ")
                .append(folder(out).resolve("merge.sh")).append('\n');
        s.append("#SBATCH --job-name=").append(jobName(study)).append("-merge\n");
        s.append("#SBATCH --output=").append(folder(out).resolve("merge-%j.out")).append('\n');
        for (String o : grouped(options.mergeSbatch() != null ? options.mergeSbatch() : withoutGpus(options.sbatch()))) s.append("#SBATCH ").append(o).append('\n');
        s.append("set -u\n");
        s.append("cd ").append(quote(Path.of("").toAbsolutePath().toString())).append('\n');
        s.append("RETORT=(").append(retort.stream().map(SlurmStudy::quote).collect(Collectors.joining(" "))).append(")\n");
        s.append("exec \"${RETORT[@]}\" kd:ablate --merge --out ").append(quote(out.toString())).append(' ').append(quote(study.file().toString())).append('\n');
        return s.toString();
    }

    /**
     * Options as #SBATCH lines: an option with the words after it that are its value ({@code -p gpu}); a word with a
     * space in double quotes, as sbatch reads them ({@code --comment "two words"}, {@code --comment="two words"}).
     */
    static List<String> grouped(List<String> words) {
        List<String> lines = new ArrayList<>();
        for (String word : words) {
            String w = !word.matches(".*\\s.*") ? word : word.matches("--[A-Za-z-]+=.*") ? word.replaceFirst("=(.*)", "=\"$1\"") : "\"" + word + "\"";
            if (w.startsWith("-") || lines.isEmpty()) lines.add(w);
            else lines.set(lines.size() - 1, lines.get(lines.size() - 1) + " " + w);
        }
        return lines;
    }

    /** The merge needs no GPU: the cells' options without {@code --gres}, {@code --gpus*} and {@code -G}. */
    static List<String> withoutGpus(List<String> options) {
        List<String> kept = new ArrayList<>();
        for (int i = 0; i < options.size(); i++) {
            String o = options.get(i);
            boolean gpu = o.startsWith("--gres") || o.startsWith("--gpus") || o.startsWith("--gpu-") || o.startsWith("-G") || o.startsWith("--mem-per-gpu")
                    || o.startsWith("--cpus-per-gpu");
            if (!gpu) kept.add(o);
            else if (!o.contains("=") && !o.matches("-G.+") && i + 1 < options.size()) i++;  // its value is the next word
        }
        return kept;
    }

    private static String jobName(Study.Ablation study) {
        return "retort-" + study.file().getFileName().toString().replaceFirst("\\.[^.]*$", "").replaceAll("[^A-Za-z0-9._-]", "_");
    }

    /**
     * {@code sbatch --parsable ARGS}: the job id it prints.
     *
     * @throws IllegalStateException with sbatch's own message when it refuses, or when there is no sbatch
     */
    static String sbatch(List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("sbatch", "--parsable"));
        command.addAll(args);
        Result r = exec(command, 120);
        if (r.status != 0) throw new IllegalStateException("sbatch " + String.join(" ", args) + " failed (exit " + r.status + "): " + r.output.strip());
        String id = r.output.strip().lines().reduce((a, b) -> b).orElse("").split(";")[0].strip();  // "<id>" or "<id>;<cluster>"
        if (!id.matches("\\d+")) throw new IllegalStateException("sbatch answered '" + r.output.strip() + "' instead of a job id");
        return id;
    }

    record Result(int status, String output) {}

    /** Runs a SLURM client; a missing one is an IllegalStateException that says so. */
    static Result exec(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException(command.get(0) + " cannot be run (" + e.getMessage() + "): kd:ablate --slurm needs SLURM's client commands"
                    + " on the PATH (run it on a login node); --dry-run writes the scripts without them", e);
        }
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " did not answer within " + timeoutSeconds + " s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static void writeScript(Path file, String text) throws IOException {
        Files.writeString(file, text);
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system: sbatch reads the script, it need not be executable
        }
    }

    /** A word for bash: single-quoted unless it is plainly safe. */
    static String quote(String s) {
        return s.matches("[A-Za-z0-9_./:=@%+,-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
    }

    /** Splits {@code --sbatch "…"} into words as a shell would (single and double quotes, no expansion). */
    static List<String> words(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean any = false;
        char quote = 0;
        for (char c : line.toCharArray()) {
            if (quote != 0) {
                if (c == quote) quote = 0;
                else w.append(c);
            } else if (c == '\'' || c == '"') {
                quote = c;
                any = true;
            } else if (Character.isWhitespace(c)) {
                if (any || w.length() > 0) words.add(w.toString());
                w.setLength(0);
                any = false;
            } else {
                w.append(c);
            }
        }
        if (quote != 0) throw new RetortConfigException("--sbatch: unbalanced " + quote + " in '" + line + "'");
        if (any || w.length() > 0) words.add(w.toString());
        for (String o : words) {
            if (o.startsWith("--array") || o.startsWith("-a") && !o.startsWith("--")) {
                throw new RetortConfigException("--sbatch " + o + ": the array is the study's cells (one task per cell); limit how many run at once with --throttle N");
            }
            if (o.startsWith("--dependency") || o.startsWith("--output") || o.startsWith("--job-name")) {
                throw new RetortConfigException("--sbatch " + o + ": kd:ablate sets it (the merge's dependency, the logs in <out>/slurm/, the job name)");
            }
        }
        return words;
    }
}
