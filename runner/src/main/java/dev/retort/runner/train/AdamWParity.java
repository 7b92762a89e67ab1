package dev.retort.runner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import dev.retort.api.parity.ParityCases;
import dev.retort.api.parity.ParityComputation;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.osgi.service.component.annotations.Component;

/**
 * The optimizer's parity: {@code adamw.safetensors}, trajectories of PyTorch's {@code torch.optim.AdamW}. For each set
 * of the file (named with its weight decay in {@code __metadata__["sets"]}, betas and eps in
 * {@code __metadata__["optimizer"]}), the run's own {@link AdamW} starts from {@code <set>.param.<i>.init}, takes the
 * file's gradient {@code <set>.grad.<i>.<t>} and learning rate {@code lr[t]} at every step, and gives back each
 * parameter after each step and the moments after the last. Halfway, its state goes through what a checkpoint keeps
 * (moments as float arrays, step counts as numbers) into a new optimizer, so a resumed run is checked too. Every
 * count and shape comes from the file; the bar is the fixture's (float32 rounding: 1e-6·(1 + |expected|)).
 */
@Component(service = ParityComputation.class, property = ParityCases.FIXTURE_PROPERTY + "=" + AdamWParity.NAME)
public final class AdamWParity implements ParityComputation {
    /** The fixture's file stem. */
    public static final String NAME = "adamw";
    private static final Pattern SET = Pattern.compile("(\\w+)\\s*\\((?:weight_decay\\s*)?([-+0-9.eE]+)\\)");
    private static final Pattern BETAS = Pattern.compile("betas\\s*=\\s*\\(\\s*([-+0-9.eE]+)\\s*,\\s*([-+0-9.eE]+)\\s*\\)");
    private static final Pattern EPS = Pattern.compile("eps\\s*=\\s*([-+0-9.eE]+)");
    private static final Pattern KEY = Pattern.compile("(\\w+)\\.(param|grad)\\.(\\d+)\\.(init|\\d+)");

    @Override
    public String fixture() {
        return NAME;
    }

    @Override
    public boolean singleFile() {
        return true;
    }

    @Override
    public Optional<Bar> tolerance() {
        return Optional.of(new Bar(1e-6, 1e-6));
    }

    @Override
    public Set<String> inputs(Path io) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(io)) {
            Set<String> in = new TreeSet<>();
            for (String k : f.tensors().keySet()) if (k.equals("lr") || KEY.matcher(k).matches()) in.add(k);
            return in;
        }
    }

    @Override
    public Map<String, NDArray> compute(Path weights, Path io, NDManager manager) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(io)) {
            String optimizer = required(f, "optimizer");
            Matcher betas = BETAS.matcher(optimizer), eps = EPS.matcher(optimizer);
            if (!betas.find() || !eps.find()) throw new IllegalArgumentException(io + ": __metadata__ optimizer states no betas=(..) and eps=..: " + optimizer);
            if (!f.contains("lr")) throw new IllegalArgumentException(io + " has no 'lr' (the learning rate per step)");
            float[] lr = f.readFloats("lr");
            Map<String, Double> sets = new LinkedHashMap<>();
            Matcher set = SET.matcher(required(f, "sets"));
            while (set.find()) sets.put(set.group(1), Double.parseDouble(set.group(2)));
            if (sets.isEmpty()) throw new IllegalArgumentException(io + ": __metadata__ sets names no set with its weight decay: " + f.metadata().get("sets"));
            Map<String, NDArray> out = new TreeMap<>();
            for (Map.Entry<String, Double> s : sets.entrySet()) {
                run(f, s.getKey(), s.getValue(), Double.parseDouble(betas.group(1)), Double.parseDouble(betas.group(2)), Double.parseDouble(eps.group(1)),
                        lr, manager, out);
            }
            return out;
        }
    }

    private static void run(SafeTensorsFile f, String set, double weightDecay, double beta1, double beta2, double eps, float[] lr, NDManager manager,
            Map<String, NDArray> out) throws IOException {
        int count = 0;
        while (f.contains(set + ".param." + count + ".init")) count++;
        if (count == 0) throw new IllegalArgumentException(f.path() + " has no " + set + ".param.0.init");
        int steps = 0;
        while (f.contains(set + ".grad.0." + steps)) steps++;
        if (steps != lr.length) throw new IllegalArgumentException(f.path() + ": " + steps + " gradients of " + set + ".param.0 but " + lr.length + " learning rates");
        Map<String, Parameter> params = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            NDArray w = f.read(set + ".param." + i + ".init", manager).toType(DataType.FLOAT32, false);
            w.setRequiresGradient(true);
            Parameter p = Parameter.builder().setName(String.valueOf(i)).setType(Parameter.Type.WEIGHT).optRequiresGrad(true).build();
            p.setArray(w);
            params.put(String.valueOf(i), p);
        }
        AdamW optimizer = new AdamW(manager, weightDecay, beta1, beta2, eps);
        optimizer.parameters(params);
        int resumeAt = steps / 2;
        for (int t = 0; t < steps; t++) {
            if (t == resumeAt) optimizer = resumed(optimizer, manager, weightDecay, beta1, beta2, eps, params);
            try (NDManager scratch = manager.newSubManager(); GradientCollector c = manager.getEngine().newGradientCollector()) {
                NDArray total = null;
                for (int i = 0; i < count; i++) {
                    NDArray term = params.get(String.valueOf(i)).getArray().mul(f.read(set + ".grad." + i + "." + t, scratch)).sum();
                    total = total == null ? term : total.add(term);
                }
                c.backward(total);
            }
            if (!optimizer.nonFiniteGradients().isEmpty()) throw new IllegalStateException(set + ": the fixture's gradients at step " + t + " read as non-finite");
            optimizer.step(lr[t]);
            optimizer.zeroGradients();
            for (int i = 0; i < count; i++) out.put(set + ".param." + i + ".after." + t, params.get(String.valueOf(i)).getArray().duplicate());
        }
        for (int i = 0; i < count; i++) {
            out.put(set + ".exp_avg." + i, optimizer.firstMoments().get(String.valueOf(i)).duplicate());
            out.put(set + ".exp_avg_sq." + i, optimizer.secondMoments().get(String.valueOf(i)).duplicate());
        }
    }

    /** A new optimizer given what a checkpoint keeps of {@code before}: moments as float arrays, step counts as numbers. */
    private static AdamW resumed(AdamW before, NDManager manager, double weightDecay, double beta1, double beta2, double eps, Map<String, Parameter> params) {
        AdamW after = new AdamW(manager, weightDecay, beta1, beta2, eps);
        after.parameters(params);
        for (String k : List.copyOf(before.steps().keySet())) {
            after.restore(k, before.firstMoments().get(k).toFloatArray(), before.secondMoments().get(k).toFloatArray(), before.steps().get(k));
        }
        before.release(params.keySet());
        return after;
    }

    private static String required(SafeTensorsFile f, String key) {
        String v = f.metadata().get(key);
        if (v == null) throw new IllegalArgumentException(f.path() + ": __metadata__ has no '" + key + "'");
        return v;
    }
}
