package dev.retort.runner.train;

import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.run.RunEvent;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A run's checkpoints (Lightning's checkpoint connector): what goes into {@code last.safetensors} and
 * {@code best.safetensors} — the student, active and parked modules, AdamW state, the step, best mIoU, active and
 * disabled modules and the run file — and how a resumed run takes it back ({@link Checkpoints} is the file format).
 */
final class Checkpointing {
    static final String LAST = "last.safetensors", BEST = "best.safetensors";

    private final RunSettings settings;
    private final SegmentationNetwork student;
    private final ModuleSet modules;
    private final AdamW optimizer;
    private final RunControl control;
    private final RunSnapshot.Board board;
    private final RunEvents events;
    private final RunFolder folder;

    Checkpointing(RunSettings settings, SegmentationNetwork student, ModuleSet modules, AdamW optimizer, RunControl control, RunSnapshot.Board board,
                  RunEvents events, RunFolder folder) {
        this.settings = settings;
        this.student = student;
        this.modules = modules;
        this.optimizer = optimizer;
        this.control = control;
        this.board = board;
        this.events = events;
        this.folder = folder;
    }

    void write(String name) throws IOException {
        Path file = settings.output().resolve(name);
        RunSnapshot now = board.get();
        Checkpoints.write(file, student, modules.saved(), optimizer, Map.of(
                "retort.step", String.valueOf(now.step()),
                "retort.best_miou", String.valueOf(now.scores().best()),
                "retort.student.variant", settings.run().student().variant(),
                "retort.modules", String.join(",", now.active()),
                "retort.disabled", String.join(",", control.disabled()),
                "retort.run", settings.toFileText()));
        if (name.equals(LAST)) board.update(RunSnapshot::lastWritten);
        events.event(RunEvent.Type.CHECKPOINT, Map.of("step", (double) now.step()), file.toString());
    }

    /**
     * Loads {@code file} into the run (all of it checked first); only then are the run folder's files touched: the
     * events logged after that checkpoint are cut from {@code metrics.jsonl} and the held log is written out.
     * Returns the step the run continues from.
     */
    long restore(Path file) throws IOException {
        var roster = modules.roster();
        Checkpoints.State s = Checkpoints.read(file, student, roster == null ? Map.of() : roster.parameters(),
                roster == null ? Map.of() : roster.references(), optimizer);
        int dropped = folder.truncateMetrics(s.step());
        events.files().release("---- resumed from " + file + " at step " + s.step() + "; lines above logged after that"
                + " checkpoint were not kept in metrics.jsonl (" + dropped + " events dropped) ----");
        board.update(b -> b.atStep(s.step()).withScores(new RunSnapshot.Scores(s.bestMiou(), b.scores().last(), b.scores().table(),
                b.scores().bestEvaluation())));
        events.log("resumed from " + file + " at step " + s.step());
        s.notes().forEach(n -> events.log("  " + n));
        // Modules disabled when the checkpoint was written stay disabled; their state was saved and is parked again.
        String off = s.metadata().getOrDefault("retort.disabled", "");
        for (String name : off.split(",")) {
            String module = name.strip();
            if (!module.isEmpty() && !control.disabled().contains(module)) control.disable(module, "disabled when the checkpoint was written (kd:disable)");
        }
        return s.step();
    }
}
