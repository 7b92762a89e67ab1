package dev.retort.distill.maskd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.Labels;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.PortRefiner;
import dev.retort.api.distill.TrainingProgress;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.Objective;
import dev.retort.nn.Scalars;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * MasKD against the official code's golden tensors ({@code maskd.weights.safetensors} + {@code maskd.io.safetensors}):
 * computes, through this bundle's module, every tensor the fixtures list, by fixture name. Shapes, token counts,
 * levels and hyper-parameters are read from the files (the io file's {@code __metadata__}), so other fixture sets
 * with other batches and sizes work too.
 *
 * <ul>
 *   <li>{@code maskd.seg.*}: the official segmentation code on the logits: stage 1 (masks, masked logits, Dice,
 *       cross-entropy, their sum and its token gradient) and stage 2 (the loss and its student-logit gradient);</li>
 *   <li>{@code maskd.feat.*}, {@code maskd.featw.*}: feature-level MasKD (mmdetection's {@code MaskModule}, mmrazor's
 *       {@code MasKDLoss} with its 1×1 connectors): stage 1 with the fixtures' probe in place of the rest of the
 *       teacher (Σ_levels [sum(masked·R) + Dice]) and stage 2 before ({@code kd0}) and after ({@code kd1}) the custom
 *       mask's warm-up.</li>
 * </ul>
 */
public final class MaskdParity {
    /** The fixture set's file stem. */
    public static final String FILE = "maskd";

    private MaskdParity() {}

    /** Whether a tensor of the io file is an input (taps, labels, the stage-1 probe) rather than something to compare. */
    public static boolean isInput(String name) {
        return name.startsWith("teacher.") || name.startsWith("student.") || name.equals("labels") || name.startsWith("maskd.grad_probe.");
    }

    /**
     * Every compared tensor of the fixture set, computed here; arrays belong to {@code manager}.
     *
     * @throws IllegalArgumentException when the files lack what a group needs (a tap, a weight, a hyper-parameter)
     */
    public static Map<String, NDArray> compute(Path weights, Path io, NDManager manager) throws IOException {
        Map<String, NDArray> out = new TreeMap<>();
        try (SafeTensorsFile w = SafeTensorsFile.open(weights); SafeTensorsFile g = SafeTensorsFile.open(io)) {
            if (w.contains("seg.mask_token")) segmentation(w, g, manager, out);
            for (String variant : List.of("feat", "featw")) {
                if (w.contains(variant + ".mask_modules.0.mask_token")) features(variant, w, g, manager, out);
            }
        }
        return out;
    }

    // ---- maskd.seg.* -------------------------------------------------------------------------------------------

    private static void segmentation(SafeTensorsFile w, SafeTensorsFile g, NDManager m, Map<String, NDArray> out) throws IOException {
        long[] tokenShape = w.info("seg.mask_token").shape();
        Map<String, Object> config = Map.of("logits", true, "tokens", tokenShape[0], "stages", "");
        String meta = metadata(g, "seg");
        int ignore = Integer.parseInt(group(meta, "ignore_index (-?\\d+)", "seg"));
        TapValues teacher = taps(g, "teacher.", m, false);
        NDArray labels = g.read("labels", m);
        int classes = (int) teacher.get(TapNames.LOGITS).getShape().get(1);

        try (MaskdModule module = build(teacher, teacher, config, m)) {
            load(module, w, "seg.", null);
            Map<String, NDArray> probes = new HashMap<>();
            NDArray loss;
            try (GradientCollector c = m.getEngine().newGradientCollector()) {
                loss = module.stage1Loss(teacher, new Labels(labels, ignore, classes), probes::put);
                c.backward(loss);
            }
            out.put("maskd.seg.mask", probes.get("maskd.logits.mask"));
            out.put("maskd.seg.masked_logits", probes.get("maskd.logits.masked"));
            out.put("maskd.seg.dice", probes.get("maskd.logits.dice"));
            out.put("maskd.seg.ce", probes.get("maskd.logits.ce"));
            out.put("maskd.seg.stage1_loss", loss);
            out.put("maskd.seg.grad.mask_token", gradient(module, MaskdModule.LOGIT_TOKENS));
        }
        try (MaskdModule module = build(teacher, teacher, config, m)) {
            load(module, w, "seg.", null);
            TapValues student = taps(g, "student.", m, true);
            List<LossTerm> terms;
            try (GradientCollector c = m.getEngine().newGradientCollector()) {
                terms = module.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE, (n, v) -> { }, TrainingProgress.FIRST, null));
                c.backward(Objective.total(null, terms));
            }
            out.put("maskd.seg.kd_loss", term(terms, "maskd.logits").value());
            out.put("maskd.seg.grad.student.logits", student.get(TapNames.LOGITS).getGradient());
        }
    }

    // ---- maskd.feat.* and maskd.featw.* ------------------------------------------------------------------------

    private static void features(String v, SafeTensorsFile w, SafeTensorsFile g, NDManager m, Map<String, NDArray> out) throws IOException {
        String meta = metadata(g, v);
        int first = Integer.parseInt(group(meta, "levels (\\d+)-\\d+", v)), last = Integer.parseInt(group(meta, "levels \\d+-(\\d+)", v));
        List<String> stages = new ArrayList<>();
        for (int s = first; s <= last; s++) stages.add(String.valueOf(s));
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("logits", false);
        config.put("stages", String.join(",", stages));
        config.put("feature_tokens", w.info(v + ".mask_modules.0.mask_token").shape()[0]);
        config.put("weight_mask", bool(group(meta, "weight_mask=(True|False)", v)));
        config.put("custom_mask", bool(group(meta, "custom_mask=(True|False)", v)));
        config.put("custom_mask_warmup", Integer.parseInt(group(meta, "custom_mask_warmup=(\\d+)", v)));
        config.put("feature_weight", Double.parseDouble(group(meta, "loss_weight=([0-9.eE+-]+)", v)));
        String p = "maskd." + v + ".";
        TapValues teacher = taps(g, "teacher.", m, false);

        // stage 1: each level's forward_train, the probe standing in for the rest of the teacher, summed with the Dice losses
        try (MaskdModule module = build(teacher, taps(g, "student.", m, false), config, m)) {
            load(module, w, v + ".", "feat.");
            Map<String, NDArray> probes = new HashMap<>();
            NDArray objective = null;
            try (GradientCollector c = m.getEngine().newGradientCollector()) {
                for (MaskdModule.Level level : module.levels()) {
                    MaskdModule.Stage1 parts = module.stage1(level, teacher.get(TapNames.features(level.stage())), probes::put);
                    NDArray term = parts.masked().mul(g.read("maskd.grad_probe." + level.stage(), m)).sum().add(parts.dice());
                    objective = objective == null ? term : objective.add(term);
                }
                c.backward(objective);
            }
            for (MaskdModule.Level level : module.levels()) {
                String s = "maskd.s" + level.stage() + ".";
                for (String part : List.of("mask", "masked", "dice", "mask_weights")) {
                    if (probes.containsKey(s + part)) out.put(p + "s" + level.stage() + "." + part, probes.get(s + part));
                }
            }
            out.put(p + "stage1_objective", objective);
            for (String key : module.preparedParameters().keySet()) out.put(p + "stage1.grad." + key, gradient(module, key));
        }

        // stage 2: call 0 (before the custom mask's warm-up ends) and call 1 (after), as the same loss instance called twice
        for (int call = 0; call < 2; call++) {
            try (MaskdModule module = build(teacher, taps(g, "student.", m, false), config, m)) {
                load(module, w, v + ".", "feat.");
                TapValues student = taps(g, "student.", m, true);
                Map<String, NDArray> probes = new HashMap<>();
                List<LossTerm> terms;
                NDArray loss;
                try (GradientCollector c = m.getEngine().newGradientCollector()) {
                    terms = module.forward(new DistillStep(teacher, student, true, m, PortRefiner.NONE, probes::put,
                            new TrainingProgress(call, 2, 1, 1), null));
                    loss = Objective.total(null, terms);
                    c.backward(loss);
                }
                String k = p + "kd" + call + ".";
                out.put(k + "loss", loss);
                NDList levelLosses = new NDList();
                for (LossTerm t : terms) levelLosses.add(Scalars.mul(t.value(), t.weight()).reshape(1));
                out.put(k + "level_loss", NDArrays.concat(levelLosses));
                for (MaskdModule.Level level : module.levels()) {
                    int s = level.stage();
                    out.put(k + "grad.student.features." + s, student.get(TapNames.features(s)).getGradient());
                    for (String part : List.of(".weight", ".bias")) {
                        out.put(k + "grad." + level.align() + part, gradient(module, level.align() + part));
                    }
                    if (call == 1) out.put(k + "s" + s + ".mask", probes.get("maskd.s" + s + ".kd_mask"));
                    if (call == 0 && v.equals("feat")) out.put("maskd.feat.aligned." + s, probes.get("maskd.aligned." + s));
                }
            }
        }
    }

    // ---- plumbing ----------------------------------------------------------------------------------------------

    private static MaskdModule build(TapValues teacher, TapValues student, Map<String, ?> config, NDManager m) {
        return (MaskdModule) new MaskdDistiller().build(new DistillContext(layout(teacher), layout(student), config, m, 0));
    }

    /**
     * Loads the module's tokens, weighting modules and connectors from the weights file under {@code prefix}; a key
     * missing there is read under {@code fallback} ({@code featw} shares {@code feat}'s connectors). The preparation
     * flag is not in the official checkpoints and stays as built.
     */
    private static void load(MaskdModule module, SafeTensorsFile w, String prefix, String fallback) throws IOException {
        for (Map.Entry<String, Parameter> e : module.parameters().entrySet()) {
            if (e.getKey().equals(MaskdModule.PREPARED)) continue;
            String key = prefix + e.getKey();
            if (!w.contains(key) && fallback != null) key = fallback + e.getKey();
            if (!w.contains(key)) throw new IllegalArgumentException(w.path() + " lacks " + prefix + e.getKey() + " for the module's " + e.getKey());
            NDArray a = e.getValue().getArray();
            if (!Arrays.equals(w.info(key).shape(), a.getShape().getShape())) {
                throw new IllegalArgumentException(key + " is " + Arrays.toString(w.info(key).shape()) + ", the module's " + e.getKey()
                        + " is " + a.getShape());
            }
            a.set(FloatBuffer.wrap(w.readFloats(key)));
        }
    }

    private static NDArray gradient(MaskdModule module, String key) {
        return module.parameters().get(key).getArray().getGradient();
    }

    private static LossTerm term(List<LossTerm> terms, String name) {
        return terms.stream().filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no loss term " + name + " among " + terms.stream().map(LossTerm::name).toList()));
    }

    /** One side's taps from the io file ({@code teacher.logits}, {@code student.features.2}, …). */
    private static TapValues taps(SafeTensorsFile g, String side, NDManager m, boolean gradients) throws IOException {
        Map<String, NDArray> taps = new LinkedHashMap<>();
        for (String name : g.tensors().keySet()) {
            if (!name.startsWith(side)) continue;
            NDArray a = g.read(name, m);
            if (gradients) a.setRequiresGradient(true);
            taps.put(name.substring(side.length()), a);
        }
        return new TapValues(side.substring(0, side.length() - 1), taps);
    }

    /** MiT-like layout of the fixture taps: logits at stride 4, stage s at stride 4·2^(s−1). */
    private static TapLayout layout(TapValues values) {
        List<TapSpec> specs = new ArrayList<>();
        int stages = 0;
        for (int s = 1; values.values().containsKey(TapNames.features(s)); s++) {
            stages = s;
            specs.add(new TapSpec(TapNames.features(s), (int) values.get(TapNames.features(s)).getShape().get(1), 4 << (s - 1), TapKind.MAP));
        }
        NDArray logits = values.values().get(TapNames.LOGITS);
        if (logits != null) specs.add(new TapSpec(TapNames.LOGITS, (int) logits.getShape().get(1), 4, TapKind.MAP));
        return new TapLayout(values.network(), stages, specs);
    }

    private static String metadata(SafeTensorsFile g, String group) {
        String text = g.metadata().get(group);
        if (text == null) throw new IllegalArgumentException(g.path() + ": no hyper-parameters for " + group + " in __metadata__");
        return text;
    }

    private static String group(String text, String regex, String owner) {
        Matcher matcher = Pattern.compile(regex).matcher(text);
        if (!matcher.find()) throw new IllegalArgumentException(owner + " hyper-parameters '" + text + "' do not state " + regex);
        return matcher.group(1);
    }

    private static boolean bool(String pythonBoolean) {
        return pythonBoolean.equals("True");
    }
}
