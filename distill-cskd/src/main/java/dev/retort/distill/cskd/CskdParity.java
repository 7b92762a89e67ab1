package dev.retort.distill.cskd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.TrainingProgress;
import dev.retort.api.parity.ParityCases;
import dev.retort.api.parity.ParityComputation;
import dev.retort.api.tap.TapKind;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.FixturePairComputation;
import dev.retort.distill.support.ModuleRoster;
import dev.retort.distill.support.Objective;
import dev.retort.nn.Ops;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.osgi.service.component.annotations.Component;

/**
 * The parity case of {@code cskd.weights.safetensors} / {@code cskd.io.safetensors}. For every loss and progress
 * value the io file names, a CSKD module is built by this bundle's distiller ({@code cskd.s4.*}: the probe variant at
 * stage 4, its head loaded from the weights file; {@code cskd.logits.*}: the logits variant), run on the file's
 * tensors and differentiated. The progress values x of {@code cskd.progress} are given as steps done / steps
 * ({@code progress = step}) with the file's {@code max_epoch} as the step count, so that x = e/E exactly, x = 1
 * included; {@code cskd.progress} is checked as the x each module saw. The stage-4 grid is ⌈h1/8⌉×⌈w1/8⌉ of the
 * teacher's logits, the tokens' row-major order. Registered as a {@link ParityComputation}, so that
 * {@code kd:parity} checks {@code cskd.*} when the pair is in its folder.
 */
@Component(service = ParityComputation.class, property = ParityCases.FIXTURE_PROPERTY + "=" + CskdParity.NAME)
public final class CskdParity extends FixturePairComputation {
    /** The fixture pair's base name. */
    public static final String NAME = "cskd";
    private static final Pattern S4_LOSS = Pattern.compile("cskd\\.s4\\.(hard|soft|soft_t([0-9.]+))\\.p(\\d+)\\.(.+)");
    private static final Pattern PER_PROGRESS = Pattern.compile("cskd\\.(s4|logits)\\.(labels|target)\\.p(\\d+)");
    private static final Pattern LOGITS_LOSS = Pattern.compile("cskd\\.logits\\.hard\\.p(\\d+)\\.(.+)");
    private static final int PROBE_STAGE = 4;

    public CskdParity() {
        super(NAME);
    }

    @Override
    protected Map<String, NDArray> computeFrom(SafeTensorsFile weights, SafeTensorsFile io, NDManager manager) throws IOException {
        return compute(weights, io, manager);
    }

    private record Case(boolean probe, boolean soft, double temperature, int progress) {}

    private record Result(Map<String, NDArray> probes, NDArray loss, NDArray input, Map<String, Parameter> parameters) {}

    /**
     * Every compared tensor of {@code io} as this implementation computes it, by fixture name; a name it cannot
     * produce is absent (the caller reports it).
     *
     * @param manager owns every array made here, the returned ones included
     */
    public static Map<String, NDArray> compute(SafeTensorsFile weights, SafeTensorsFile io, NDManager manager) throws IOException {
        float[] progress = io.readFloats("cskd.progress");
        Map<Case, Result> cases = new HashMap<>();
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String name : io.tensors().keySet()) {
            if (isInput(name)) continue;
            NDArray actual = null;
            Matcher m;
            if (name.equals("cskd.progress")) {
                // the progress x the module derived from each TrainingProgress
                float[] seen = new float[progress.length];
                for (int i = 0; i < progress.length; i++) seen[i] = run(cases, new Case(true, false, 1, i), weights, io, progress, manager).probes.get("cskd.progress").getFloat();
                actual = manager.create(seen);
            } else if (name.startsWith("cskd.decay.")) {
                CskdDistiller.Decay decay = CskdDistiller.Decay.valueOf(name.substring("cskd.decay.".length()).toUpperCase(Locale.ROOT));
                float[] ratios = new float[progress.length];
                for (int i = 0; i < progress.length; i++) ratios[i] = (float) decay.apply(progress[i]);
                actual = manager.create(ratios);
            } else if ((m = S4_LOSS.matcher(name)).matches()) {
                boolean soft = !m.group(1).equals("hard");
                double t = m.group(2) == null ? 1 : Double.parseDouble(m.group(2));
                Result r = run(cases, new Case(true, soft, t, Integer.parseInt(m.group(3))), weights, io, progress, manager);
                actual = output(m.group(4), r, "student.tokens.4");
            } else if ((m = LOGITS_LOSS.matcher(name)).matches()) {
                Result r = run(cases, new Case(false, false, 1, Integer.parseInt(m.group(1))), weights, io, progress, manager);
                actual = output(m.group(2), r, "student.logits");
            } else if ((m = PER_PROGRESS.matcher(name)).matches()) {
                Result r = run(cases, new Case(m.group(1).equals("s4"), false, 1, Integer.parseInt(m.group(3))), weights, io, progress, manager);
                actual = r.probes.get("cskd." + m.group(2));
            } else if (name.startsWith("cskd.s4.") || name.startsWith("cskd.logits.")) {
                // teacher.dense, teacher.global, student.dense_logits: independent of the progress
                boolean probe = name.startsWith("cskd.s4.");
                Result r = run(cases, new Case(probe, false, 1, 0), weights, io, progress, manager);
                actual = r.probes.get("cskd." + name.substring(probe ? "cskd.s4.".length() : "cskd.logits.".length()));
            }
            if (actual != null) out.put(name, actual);
        }
        return out;
    }

    private static NDArray output(String rest, Result r, String input) {
        if (rest.equals("loss")) return r.loss;
        if (rest.equals("grad." + input)) return r.input.getGradient();
        if (rest.startsWith("grad.")) {
            Parameter p = r.parameters.get(rest.substring("grad.".length()));
            return p == null ? null : p.getArray().getGradient();
        }
        return null;
    }

    private static Result run(Map<Case, Result> cases, Case c, SafeTensorsFile weights, SafeTensorsFile io, float[] progress, NDManager manager) {
        Result r = cases.get(c);
        if (r != null) return r;
        try {
            r = compute(c, weights, io, progress, manager);
        } catch (IOException e) {
            throw new IllegalArgumentException(io.path() + ": " + e.getMessage(), e);
        }
        cases.put(c, r);
        return r;
    }

    private static Result compute(Case c, SafeTensorsFile weights, SafeTensorsFile io, float[] progress, NDManager manager) throws IOException {
        if (c.progress >= progress.length) throw new IllegalArgumentException(io.path() + ": no progress value p" + c.progress + " in cskd.progress");
        NDArray teacherLogits = io.read("teacher.logits", manager);
        long classes = teacherLogits.getShape().get(1), h1 = teacherLogits.getShape().get(2), w1 = teacherLogits.getShape().get(3);
        NDArray input;
        long h4 = 0, w4 = 0;
        Map<String, NDArray> studentTaps = new LinkedHashMap<>();
        TapLayout studentLayout;
        TapSpec teacherTap = new TapSpec(TapNames.LOGITS, (int) classes, 4, TapKind.MAP);
        Map<String, String> config = new LinkedHashMap<>();
        config.put("progress", "step");
        config.put("decay", "linear");
        config.put("loss", c.soft ? "soft" : "hard");
        config.put("temperature", String.valueOf(c.temperature));
        if (c.probe) {
            input = io.read("student.tokens.4", manager);
            input.setRequiresGradient(true);
            int kernel = 8;  // stage-4 stride 32 over the logits' 4
            h4 = (h1 + kernel - 1) / kernel;
            w4 = (w1 + kernel - 1) / kernel;
            if (input.getShape().get(1) != h4 * w4) {
                throw new IllegalArgumentException(io.path() + ": student.tokens.4 " + input.getShape() + " is not the " + h4 + "x" + w4 + " grid of teacher.logits "
                        + teacherLogits.getShape());
            }
            studentLayout = new TapLayout("student", PROBE_STAGE,
                    List.of(new TapSpec(TapNames.features(PROBE_STAGE), (int) input.getShape().get(2), 32, TapKind.MAP)));
            config.put("variant", "probe");
            config.put("stage", String.valueOf(PROBE_STAGE));
        } else {
            input = io.read("student.logits", manager);
            input.setRequiresGradient(true);
            studentTaps.put(TapNames.LOGITS, input);
            studentLayout = new TapLayout("student", 0, List.of(new TapSpec(TapNames.LOGITS, (int) input.getShape().get(1), 4, TapKind.MAP)));
            config.put("variant", "logits");
        }
        TapLayout teacherLayout = new TapLayout("teacher", 0, List.of(teacherTap));
        ModuleRoster roster = ModuleRoster.build(List.of(new ModuleRoster.Request(new CskdDistiller(), config)), teacherLayout, studentLayout, manager, 0);
        if (c.probe) roster.load(weights, "");
        Map<String, NDArray> probes = new HashMap<>();
        NDArray total;
        try (GradientCollector g = manager.getEngine().newGradientCollector()) {
            // inside the collector: operations outside it are not recorded, and the tokens would get no gradient
            if (c.probe) studentTaps.put(TapNames.features(PROBE_STAGE), Ops.tokensToMap(input, h4, w4));
            List<LossTerm> terms = roster.forward(new TapValues("teacher", Map.of(TapNames.LOGITS, teacherLogits)), new TapValues("student", studentTaps),
                    true, manager, probes::put, progress(io, progress[c.progress]), null);
            total = Objective.total(null, terms);
            g.backward(total);
        }
        return new Result(probes, total, input, roster.byReference());
    }

    /** x as steps done / steps, with the file's max_epoch as the step count (x = e/E exactly). */
    private static TrainingProgress progress(SafeTensorsFile io, float x) {
        String max = io.metadata().get("max_epoch");
        long total = max == null ? 1_000_000 : Long.parseLong(max.trim());
        long step = Math.round(x * (double) total);
        if (Math.abs((double) step / total - x) > 1e-7) {
            throw new IllegalArgumentException(io.path() + ": progress " + x + " is not a whole number of " + total + " steps");
        }
        return new TrainingProgress(step, total, 1, 1);
    }
}
