package dev.retort.distill.tat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.distill.LossTerm;
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
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.osgi.service.component.annotations.Component;

/**
 * The parity case of {@code tat.weights.safetensors} / {@code tat.io.safetensors}: for each BatchNorm mode the io file
 * holds ({@code tat.perimage.*}, {@code tat.batched.*}), a TaT module is built by this bundle's distiller with the
 * file's hyper-parameters ({@code __metadata__["hparams"]}), loaded with the weights file (the fixture's names are this
 * module's checkpoint keys), run once in training mode on the file's teacher and student maps, and differentiated
 * (gradients of the sum of the stage losses, weight 1). Every shape comes from the files. Registered as a
 * {@link ParityComputation}, so that {@code kd:parity} checks {@code tat.*} when the pair is in its folder.
 */
@Component(service = ParityComputation.class, property = ParityCases.FIXTURE_PROPERTY + "=" + TatParity.NAME)
public final class TatParity extends FixturePairComputation {
    /** The fixture pair's base name. */
    public static final String NAME = "tat";
    private static final Pattern STAGE = Pattern.compile("\"stage(\\d+)\"\\s*:\\s*\\{([^}]*)}");
    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\"\\s*:\\s*\"?([^,\"]*)\"?");

    public TatParity() {
        super(NAME);
    }

    @Override
    protected Map<String, NDArray> computeFrom(SafeTensorsFile weights, SafeTensorsFile io, NDManager manager) throws IOException {
        return compute(weights, io, manager);
    }

    /**
     * Every compared tensor of {@code io} as this implementation computes it, by fixture name; a name it cannot
     * produce is absent (the caller reports it).
     *
     * @param manager owns every array made here, the returned ones included
     * @throws IllegalArgumentException when the files do not describe a TaT case (no hyper-parameters, weights that do not fit)
     */
    public static Map<String, NDArray> compute(SafeTensorsFile weights, SafeTensorsFile io, NDManager manager) throws IOException {
        Map<String, String> config = configuration(io);
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String mode : List.of(TatDistiller.PER_IMAGE, TatDistiller.BATCHED)) {
            String prefix = NAME + "." + mode + ".";
            if (io.tensors().keySet().stream().noneMatch(k -> k.startsWith(prefix))) continue;
            Map<String, String> c = new LinkedHashMap<>(config);
            c.put("batch_norm", mode);
            c.put("key_embedding", String.valueOf(weights.tensors().keySet().stream().anyMatch(k -> k.contains("." + TatModule.KEY + "."))));
            TapValues teacher = taps(io, "teacher", manager, false);
            TapValues student = taps(io, "student", manager, true);
            ModuleRoster roster = ModuleRoster.build(List.of(new ModuleRoster.Request(new TatDistiller(), c)), layout(teacher), layout(student), manager, 0);
            roster.load(weights, "");
            Map<String, NDArray> probes = new HashMap<>();
            List<LossTerm> terms;
            NDArray total;
            try (GradientCollector g = manager.getEngine().newGradientCollector()) {
                terms = roster.forward(teacher, student, true, manager, probes::put);
                total = Objective.total(null, terms);
                g.backward(total);
            }
            Map<String, Parameter> parameters = roster.byReference();
            for (String name : io.tensors().keySet()) {
                if (!name.startsWith(prefix)) continue;
                String rest = name.substring(prefix.length());
                NDArray actual = null;
                if (rest.equals("loss")) {
                    actual = total;
                } else if (rest.startsWith("grad.student.")) {
                    actual = student.values().get(rest.substring("grad.student.".length())).getGradient();
                } else if (rest.startsWith("grad.") || rest.startsWith("after.")) {
                    Parameter p = parameters.get(rest.substring(rest.indexOf('.') + 1));
                    if (p != null) actual = rest.startsWith("grad.") ? p.getArray().getGradient() : p.getArray();
                } else {
                    actual = probes.get(NAME + "." + rest);
                }
                if (actual != null) out.put(name, actual);
            }
        }
        return out;
    }

    /** The module configuration of the io file's {@code hparams}: per-stage lists over stages 1..max. */
    static Map<String, String> configuration(SafeTensorsFile io) {
        String hparams = io.metadata().get("hparams");
        if (hparams == null) throw new IllegalArgumentException(io.path() + " holds no __metadata__ hparams: not a TaT parity file");
        Map<Integer, Map<String, String>> stages = new TreeMap<>();
        Matcher sm = STAGE.matcher(hparams);
        while (sm.find()) {
            Map<String, String> fields = new HashMap<>();
            Matcher fm = FIELD.matcher(sm.group(2));
            while (fm.find()) fields.put(fm.group(1), fm.group(2).trim());
            stages.put(Integer.parseInt(sm.group(1)), fields);
        }
        if (stages.isEmpty()) throw new IllegalArgumentException(io.path() + ": hparams name no stage: " + hparams);
        int last = stages.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow();
        List<String> grids = new ArrayList<>(), heads = new ArrayList<>(), anchors = new ArrayList<>(), betas = new ArrayList<>(), gammas = new ArrayList<>();
        for (int s = 1; s <= last; s++) {
            Map<String, String> f = stages.get(s);
            if (f == null) {  // a stage the file leaves out: placeholders, never distilled
                grids.add("1x1");
                heads.add("1");
                anchors.add("1x1");
                betas.add("0");
                gammas.add("0");
                continue;
            }
            String type = f.getOrDefault("attn_type", "stack_attn");
            if (!type.equals("stack_attn")) throw new IllegalArgumentException(io.path() + ": stage " + s + " uses attn_type " + type + "; Retort implements stack_attn");
            grids.add(field(f, "n", s) + "x" + field(f, "m", s));
            heads.add(field(f, "heads", s));
            anchors.add(field(f, "anchor_h", s) + "x" + field(f, "anchor_w", s));
            betas.add(field(f, "beta", s));
            gammas.add(field(f, "gamma", s));
        }
        Map<String, String> c = new LinkedHashMap<>();
        c.put("stages", String.join(",", stages.keySet().stream().map(String::valueOf).toList()));
        c.put("patch_grids", String.join(",", grids));
        c.put("heads", String.join(",", heads));
        c.put("anchors", String.join(",", anchors));
        c.put("betas", String.join(",", betas));
        c.put("gammas", String.join(",", gammas));
        c.put("weight", "1");
        return c;
    }

    private static String field(Map<String, String> fields, String key, int stage) {
        String v = fields.get(key);
        if (v == null) throw new IllegalArgumentException("hparams of stage " + stage + " have no " + key);
        return v;
    }

    /** One side's {@code features.s} maps from the io file. */
    private static TapValues taps(SafeTensorsFile io, String side, NDManager manager, boolean gradients) throws IOException {
        Map<String, NDArray> taps = new LinkedHashMap<>();
        for (int s = 1; io.contains(side + "." + TapNames.features(s)); s++) {
            NDArray a = io.read(side + "." + TapNames.features(s), manager);
            if (gradients) a.setRequiresGradient(true);
            taps.put(TapNames.features(s), a);
        }
        if (taps.isEmpty()) throw new IllegalArgumentException(io.path() + " holds no " + side + "." + TapNames.features(1));
        return new TapValues(side, taps);
    }

    /** MiT strides 4, 8, 16, 32 (the maps' sizes are read from the arrays at each step). */
    private static TapLayout layout(TapValues values) {
        List<TapSpec> specs = new ArrayList<>();
        int stages = values.values().size();
        for (int s = 1; s <= stages; s++) {
            specs.add(new TapSpec(TapNames.features(s), (int) values.get(TapNames.features(s)).getShape().get(1), 4 << (s - 1), TapKind.MAP));
        }
        return new TapLayout(values.network(), stages, specs);
    }
}
