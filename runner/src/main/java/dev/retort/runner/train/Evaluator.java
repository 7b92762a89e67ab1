package dev.retort.runner.train;

import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.MiouConvention;
import dev.retort.api.data.SampleSource;
import dev.retort.api.run.RunEvent;
import dev.retort.datasets.BatchLoader;
import dev.retort.nn.Scope;
import dev.retort.runner.eval.Evaluation;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The run's evaluations: the student in evaluation mode, in the precision it trains in, over the validation split;
 * mIoU in the dataset's convention, the per-class table, an {@code EVALUATION} event, and the best and last
 * checkpoints.
 */
final class Evaluator {
    private final RunSettings settings;
    private final SegmentationNetwork student;
    private final DatasetInfo info;
    private final NDManager base;
    private final RunSnapshot.Board board;
    private final RunEvents events;
    private final Checkpointing checkpoints;

    Evaluator(RunSettings settings, SegmentationNetwork student, DatasetInfo info, NDManager base, RunSnapshot.Board board, RunEvents events,
              Checkpointing checkpoints) {
        this.settings = settings;
        this.student = student;
        this.info = info;
        this.base = base;
        this.board = board;
        this.events = events;
        this.checkpoints = checkpoints;
    }

    void evaluate(BatchLoader valLoader, SampleSource valSource) throws IOException {
        MiouConvention mode = info.miou();  // the dataset states it
        Evaluation.Result result;
        try (Scope products = settings.precision().studentProducts()) {
            result = Evaluation.run(student, valLoader, info, base, settings.evalBatches());
        }
        double miou = result.all().meanIou(mode);
        String table = result.table(info, mode);
        RunSnapshot now = board.update(s -> s.withScores(new RunSnapshot.Scores(s.scores().best(), miou, table, s.scores().bestEvaluation())));
        events.log(String.format("evaluation at step %d (epoch %d): mIoU %.2f%%%n%s", now.step(), now.epoch(), 100 * miou, table));
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("miou", miou);
        m.put("pixel_accuracy", result.all().pixelAccuracy());
        double[] iou = result.all().iou();
        for (int c = 0; c < iou.length; c++) m.put("iou." + info.classes().get(c), iou[c]);  // in the dataset's class order
        if (valSource.skipped() > 0) m.put("skipped_val", (double) valSource.skipped());
        events.event(RunEvent.Type.EVALUATION, m, "");
        if (miou > now.scores().best()) {
            board.update(s -> s.withScores(new RunSnapshot.Scores(miou, miou, table, m)));
            checkpoints.write(Checkpointing.BEST);
        }
        checkpoints.write(Checkpointing.LAST);
    }
}
