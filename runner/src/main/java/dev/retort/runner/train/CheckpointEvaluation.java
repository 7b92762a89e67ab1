package dev.retort.runner.train;

import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.SampleSource;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.run.DataRef;
import dev.retort.api.run.EvaluationReport;
import dev.retort.api.run.EvaluationRequest;
import dev.retort.api.run.ModelRef;
import dev.retort.datasets.BatchLoader;
import dev.retort.runner.eval.Evaluation;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code kd:eval}: the student of a run's checkpoint, or a published weights file as the network the request names, in
 * evaluation mode, over a split of its own or another dataset.
 */
final class CheckpointEvaluation {
    private CheckpointEvaluation() {}

    /**
     * The run a published file is evaluated as: the request's keys, which must name the network ({@code student}) and,
     * here or in the request, the dataset — a file that carries no run has no dataset to fall back on.
     */
    private static Map<String, Object> published(EvaluationRequest request) {
        Map<String, Object> run = new LinkedHashMap<>(request.run());
        if (String.valueOf(run.getOrDefault("student", "")).isBlank()) {
            throw new RetortConfigException(request.checkpoint() + " carries no run: say which network it is (kd:eval --variant V, or a run file"
                    + " with student = V and its student.* keys)");
        }
        if (String.valueOf(run.getOrDefault("dataset", "")).isBlank() && (request.dataset() == null || request.dataset().isEmpty())) {
            throw new RetortConfigException(request.checkpoint() + " carries no run: say which dataset to evaluate it on (--dataset D --root R)");
        }
        if (request.dataset() != null && !request.dataset().isEmpty()) run.put("dataset", request.dataset());
        if (request.root() != null) run.put("data.root", request.root().toString());
        if (request.split() != null && !request.split().isEmpty()) run.put("data.val_split", request.split());
        // the file under evaluation is the student's weights: a run file naming other weights asks for something else
        Object named = run.remove("student.weights");
        if (named != null && !String.valueOf(named).isBlank()
                && !Path.of(String.valueOf(named)).toAbsolutePath().normalize().equals(request.checkpoint().toAbsolutePath().normalize())) {
            throw new RetortConfigException("kd:eval " + request.checkpoint() + ": the run names other student weights (student.weights = " + named
                    + "); evaluate one file at a time: drop student.weights from the run file or evaluate that file");
        }
        return run;
    }

    static EvaluationReport run(EvaluationRequest request, Trainer.Services services) throws IOException {
        GradMode.offForThisThread();
        Path checkpoint = request.checkpoint().toAbsolutePath();
        RunSettings run = RunSettings.of(request.run() == null ? Checkpoints.runDescription(checkpoint) : published(request));
        DataRef data = run.run().data();
        // a published file's dataset is the request's own (its data.* keys apply); a run's checkpoint may be evaluated on another
        boolean own = request.run() != null || request.dataset() == null || request.dataset().isEmpty();
        String name = own ? data.dataset() : request.dataset();
        Path root = request.root() != null ? request.root().toAbsolutePath() : own ? data.root() : null;
        String split = request.split() == null || request.split().isEmpty() ? data.valSplit() : request.split();
        ModelRef student = run.run().student();
        try (SampleSource source = services.dataset(name).open(run.dataPlan().evaluation(root, split, own));
             BatchLoader loader = new BatchLoader(source, run.run().optimisation().batchSize(), false, run.threads(), run.prefetch());
             NDManager m = services.engine().newBaseManager();
             SegmentationNetwork net = services.backbone(student.variant()).build(student.variant(), student.config(), m, 0)) {
            var report = net.load(checkpoint, LoadMode.STRICT);
            List<String> nonFinite = report.warnings().stream().filter(w -> w.contains("NaN")).toList();
            if (!nonFinite.isEmpty()) {
                throw new RetortConfigException(checkpoint + " is refused: its student holds NaN or infinite values in "
                        + String.join("; ", nonFinite.subList(0, Math.min(12, nonFinite.size()))) + (nonFinite.size() > 12 ? "; …" : ""));
            }
            DatasetInfo info = source.info();
            Evaluation.Result r = Evaluation.run(net, loader, info, m, request.batches());
            Map<String, Double> metrics = new LinkedHashMap<>();
            metrics.put("miou", r.all().meanIou(info.miou()));
            metrics.put("pixel_accuracy", r.all().pixelAccuracy());
            double[] iou = r.all().iou();
            for (int c = 0; c < iou.length; c++) metrics.put("iou." + info.classes().get(c), iou[c]);
            return new EvaluationReport(name, split, r.all().pixels(), metrics, r.table(info, info.miou()));
        }
    }
}
