package dev.retort.backbones.mit;

import static dev.retort.backbones.support.WeightReports.list;

import ai.djl.ndarray.NDArray;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.LoadReport;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.error.RetortConfigException;
import dev.retort.nn.ParameterSet;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsWriter;
import dev.retort.safetensors.TensorInfo;
import dev.retort.safetensors.TensorSource;
import dev.retort.weights.WeightFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Weights of a SegFormer in the two namings people have: the reference / original SegFormer state dict
 * ({@code block1.0.attn.kv.weight}; {@code module.} and {@code student.} prefixes accepted, and mmseg's {@code backbone.}
 * and {@code decode_head.}) and Hugging Face
 * transformers' {@code SegformerForSemanticSegmentation} ({@code segformer.encoder.block.0.0.attention.self.key.weight}),
 * where the reference's single {@code kv} linear is two linears, key rows first.
 */
final class MitWeights {
    static final String REFERENCE = "reference";
    static final String HF = "hf";
    /** torch state dicts carry this BatchNorm counter; it has no effect on the computation. */
    private static final String BATCHES_TRACKED = "num_batches_tracked";

    private MitWeights() {}

    // ---- naming -------------------------------------------------------------------------------------------

    private record Rule(Pattern hf, String reference) {}

    /** HF name patterns and the reference names they map to ($1, $2 = 0-based stage, block). */
    private static final List<Rule> RULES = List.of(
            rule("segformer\\.encoder\\.patch_embeddings\\.(\\d+)\\.proj\\.(weight|bias)", "patch_embed{s}.proj.$2"),
            rule("segformer\\.encoder\\.patch_embeddings\\.(\\d+)\\.layer_norm\\.(weight|bias)", "patch_embed{s}.norm.$2"),
            rule("segformer\\.encoder\\.block\\.(\\d+)\\.(\\d+)\\.layer_norm_1\\.(weight|bias)", "block{s}.$2.norm1.$3"),
            rule("segformer\\.encoder\\.block\\.(\\d+)\\.(\\d+)\\.attention\\.self\\.query\\.(weight|bias)", "block{s}.$2.attn.q.$3"),
            rule("segformer\\.encoder\\.block\\.(\\d+)\\.(\\d+)\\.attention\\.self\\.sr\\.(weight|bias)", "block{s}.$2.attn.sr.$3"),
            rule("segformer\\.encoder\\.block\\.(\\d+)\\.(\\d+)\\.attention\\.self\\.layer_norm\\.(weight|bias)", "block{s}.$2.attn.norm.$3"),
            rule("segformer\\.encoder\\.block\\.(\\d+)\\.(\\d+)\\.attention\\.output\\.dense\\.(weight|bias)", "block{s}.$2.attn.proj.$3"),
            rule("segformer\\.encoder\\.block\\.(\\d+)\\.(\\d+)\\.layer_norm_2\\.(weight|bias)", "block{s}.$2.norm2.$3"),
            rule("segformer\\.encoder\\.block\\.(\\d+)\\.(\\d+)\\.mlp\\.dense1\\.(weight|bias)", "block{s}.$2.mlp.fc1.$3"),
            rule("segformer\\.encoder\\.block\\.(\\d+)\\.(\\d+)\\.mlp\\.dwconv\\.dwconv\\.(weight|bias)", "block{s}.$2.mlp.dwconv.dwconv.$3"),
            rule("segformer\\.encoder\\.block\\.(\\d+)\\.(\\d+)\\.mlp\\.dense2\\.(weight|bias)", "block{s}.$2.mlp.fc2.$3"),
            rule("segformer\\.encoder\\.layer_norm\\.(\\d+)\\.(weight|bias)", "norm{s}.$2"),
            rule("decode_head\\.linear_c\\.(\\d+)\\.proj\\.(weight|bias)", "linear_c{s}.proj.$2"),
            rule("decode_head\\.linear_fuse\\.weight", "linear_fuse.conv.weight"),
            rule("decode_head\\.batch_norm\\.(weight|bias|running_mean|running_var|num_batches_tracked)", "linear_fuse.bn.$1"),
            rule("decode_head\\.classifier\\.(weight|bias)", "linear_pred.$1"));

    private static final Pattern HF_KEY = Pattern.compile("segformer\\.encoder\\.block\\.(\\d+)\\.(\\d+)\\.attention\\.self\\.key\\.(weight|bias)");
    private static final Pattern HF_VALUE = Pattern.compile("segformer\\.encoder\\.block\\.(\\d+)\\.(\\d+)\\.attention\\.self\\.value\\.(weight|bias)");

    private static Rule rule(String hf, String reference) {
        return new Rule(Pattern.compile(hf), reference);
    }

    /** The reference name of an HF key, or empty when it is not a SegFormer key (key/value are handled apart). */
    static Optional<String> referenceName(String hf) {
        for (Rule r : RULES) {
            Matcher m = r.hf.matcher(hf);
            if (m.matches()) {
                String name = r.reference;
                if (name.contains("{s}")) name = name.replace("{s}", String.valueOf(Integer.parseInt(m.group(1)) + 1));
                for (int g = m.groupCount(); g >= 1; g--) name = name.replace("$" + g, m.group(g));
                return Optional.of(name);
            }
        }
        return Optional.empty();
    }

    /** The HF name of a reference key ({@code attn.kv} excluded: it becomes two tensors). */
    static String hfName(String reference) {
        Matcher m;
        if ((m = Pattern.compile("patch_embed(\\d+)\\.proj\\.(.+)").matcher(reference)).matches())
            return "segformer.encoder.patch_embeddings." + stage(m) + ".proj." + m.group(2);
        if ((m = Pattern.compile("patch_embed(\\d+)\\.norm\\.(.+)").matcher(reference)).matches())
            return "segformer.encoder.patch_embeddings." + stage(m) + ".layer_norm." + m.group(2);
        if ((m = Pattern.compile("block(\\d+)\\.(\\d+)\\.(.+)").matcher(reference)).matches()) {
            String base = "segformer.encoder.block." + stage(m) + "." + m.group(2) + ".";
            String rest = m.group(3);
            String[][] map = {{"norm1.", "layer_norm_1."}, {"attn.q.", "attention.self.query."}, {"attn.sr.", "attention.self.sr."},
                    {"attn.norm.", "attention.self.layer_norm."}, {"attn.proj.", "attention.output.dense."}, {"norm2.", "layer_norm_2."},
                    {"mlp.fc1.", "mlp.dense1."}, {"mlp.dwconv.dwconv.", "mlp.dwconv.dwconv."}, {"mlp.fc2.", "mlp.dense2."}};
            for (String[] pair : map) if (rest.startsWith(pair[0])) return base + pair[1] + rest.substring(pair[0].length());
        }
        if ((m = Pattern.compile("norm(\\d+)\\.(.+)").matcher(reference)).matches())
            return "segformer.encoder.layer_norm." + stage(m) + "." + m.group(2);
        if ((m = Pattern.compile("linear_c(\\d+)\\.proj\\.(.+)").matcher(reference)).matches())
            return "decode_head.linear_c." + stage(m) + ".proj." + m.group(2);
        if (reference.equals("linear_fuse.conv.weight")) return "decode_head.linear_fuse.weight";
        if (reference.startsWith("linear_fuse.bn.")) return "decode_head.batch_norm." + reference.substring("linear_fuse.bn.".length());
        if (reference.startsWith("linear_pred.")) return "decode_head.classifier." + reference.substring("linear_pred.".length());
        throw new RetortConfigException("no Hugging Face name for " + reference);
    }

    private static int stage(Matcher m) {
        return Integer.parseInt(m.group(1)) - 1;
    }

    static boolean isEncoder(String reference) {
        return reference.startsWith("patch_embed") || reference.startsWith("block") || reference.matches("norm\\d+\\..*");
    }

    // ---- loading -----------------------------------------------------------------------------------------------

    /** A file tensor resolved to a reference name: one source key, or key+value rows for a kv linear. */
    private record Source(List<String> keys) {}

    static LoadReport load(MitNetwork network, Path file, LoadMode mode) throws IOException {
        ParameterSet params = network.parameterSet();
        try (TensorSource f = WeightFiles.open(file)) {
            MitHfConfig.check(f, network.config(), network.spec().variant(), mode);
            boolean hasStudent = f.tensors().keySet().stream().anyMatch(k -> strip(k).startsWith("student."));
            // HF naming: a segformer.* key, or a decoder key that only HF spells so (mmseg's decode_head.linear_c4 is reference naming)
            boolean hf = f.tensors().keySet().stream().map(k -> withoutStudent(strip(k), hasStudent)).filter(k -> k != null)
                    .anyMatch(k -> k.startsWith("segformer.") || (k.startsWith("decode_head.") && referenceName(k).isPresent()));
            Map<String, Source> sources = new LinkedHashMap<>();
            List<String> unexpected = new ArrayList<>();
            Map<String, List<String>> kvParts = new LinkedHashMap<>();
            for (String key : f.tensors().keySet()) {
                String k = withoutStudent(strip(key), hasStudent);
                if (k == null) continue;  // a distillation checkpoint: the rest are KD modules
                if (k.endsWith(BATCHES_TRACKED)) continue;
                if (!hf) k = withoutMmseg(k);
                if (hf) {
                    Matcher km = HF_KEY.matcher(k), vm = HF_VALUE.matcher(k);
                    if (km.matches() || vm.matches()) {
                        Matcher m = km.matches() ? km : vm;
                        String ref = "block" + (Integer.parseInt(m.group(1)) + 1) + "." + m.group(2) + ".attn.kv." + m.group(3);
                        kvParts.computeIfAbsent(ref, r -> new ArrayList<>(List.of("", ""))).set(km.matches() ? 0 : 1, key);
                        continue;
                    }
                    Optional<String> ref = referenceName(k);
                    if (ref.isPresent()) sources.put(ref.get(), new Source(List.of(key)));
                    else unexpected.add(key);
                } else {
                    sources.put(k, new Source(List.of(key)));
                }
            }
            kvParts.forEach((ref, parts) -> {
                if (parts.contains("")) unexpected.addAll(parts.stream().filter(p -> !p.isEmpty()).toList());
                else sources.put(ref, new Source(parts));
            });

            List<String> missing = new ArrayList<>(), mismatched = new ArrayList<>(), warnings = new ArrayList<>();
            Map<String, Source> toLoad = new LinkedHashMap<>();
            for (Map.Entry<String, Source> e : sources.entrySet()) {
                String ref = e.getKey();
                if (!params.contains(ref) || (mode == LoadMode.ENCODER_ONLY && !isEncoder(ref))) {
                    unexpected.addAll(e.getValue().keys());
                    continue;
                }
                long[] fileShape = shapeOf(f, e.getValue());
                long[] netShape = params.get(ref).getShape().getShape();
                if (!Arrays.equals(fileShape, netShape)) {
                    mismatched.add(ref + ": file " + Arrays.toString(fileShape) + " vs network " + Arrays.toString(netShape));
                } else {
                    toLoad.put(ref, e.getValue());
                }
            }
            for (String name : params.asMap().keySet()) {
                if (!sources.containsKey(name) && (mode == LoadMode.STRICT || isEncoder(name))) missing.add(name);
            }
            boolean strictUnexpected = mode == LoadMode.STRICT && !unexpected.isEmpty();
            if (!missing.isEmpty() || !mismatched.isEmpty() || strictUnexpected) {
                throw new RetortConfigException(file + " does not fit " + network.spec().variant() + " ("
                        + (hf ? HF : REFERENCE) + " naming, " + mode + "):"
                        + list("missing", missing) + list("mis-shaped", mismatched)
                        + (strictUnexpected ? list("unexpected", unexpected) : ""));
            }
            Map<String, float[]> values = new LinkedHashMap<>();
            for (Map.Entry<String, Source> e : toLoad.entrySet()) {
                float[] v = valuesOf(f, e.getValue());
                long bad = countNonFinite(v);
                if (bad > 0) warnings.add(e.getKey() + ": " + bad + " NaN or infinite values");
                values.put(e.getKey(), v);
            }
            // Everything was read and checked: only now touch the network.
            values.forEach(params::assign);
            return new LoadReport(file.toString(), hf ? HF : REFERENCE, values.size(), missing, unexpected, mismatched, warnings);
        }
    }

    private static String strip(String key) {
        String k = key;
        while (k.startsWith("module.")) k = k.substring("module.".length());
        return k;
    }

    /** In a distillation checkpoint the key without {@code student.}, or null for the modules' keys; otherwise the key. */
    private static String withoutStudent(String k, boolean hasStudent) {
        if (!hasStudent) return k;
        return k.startsWith("student.") ? k.substring("student.".length()) : null;
    }

    /** mmseg/mmcv prefixes its encoder's keys with {@code backbone.} and its decoder's with {@code decode_head.}. */
    private static String withoutMmseg(String k) {
        if (k.startsWith("backbone.")) return k.substring("backbone.".length());
        if (k.startsWith("decode_head.")) return k.substring("decode_head.".length());
        return k;
    }

    private static long[] shapeOf(TensorSource f, Source s) throws IOException {
        TensorInfo first = f.info(s.keys().get(0));
        if (s.keys().size() == 1) return first.shape();
        long[] shape = first.shape();
        shape[0] += f.info(s.keys().get(1)).shape()[0];  // key rows, then value rows
        return shape;
    }

    private static float[] valuesOf(TensorSource f, Source s) throws IOException {
        if (s.keys().size() == 1) return f.readFloats(s.keys().get(0));
        float[] k = f.readFloats(s.keys().get(0)), v = f.readFloats(s.keys().get(1));
        float[] kv = Arrays.copyOf(k, k.length + v.length);
        System.arraycopy(v, 0, kv, k.length, v.length);
        return kv;
    }

    /**
     * transformers' SegformerConfig for this architecture. With the dataset's label space, {@code id2label} names its
     * classes; an output channel beyond the named classes is the dataset's ignore class (TransKD protocol: channel 19,
     * loss weight 0), exported as {@code "ignore"} and as {@code semantic_loss_ignore_index}. Without it the classes
     * are {@code class_0} … and the ignore index is transformers' default 255.
     */
    static String hfConfig(MitConfig c, DatasetInfo labels) {
        JsonObject o = new JsonObject();
        o.addProperty("model_type", "segformer");
        JsonArray arch = new JsonArray();
        arch.add("SegformerForSemanticSegmentation");
        o.add("architectures", arch);
        o.addProperty("num_channels", c.inChannels());
        o.addProperty("num_encoder_blocks", c.stages());
        o.add("depths", ints(c.depths()));
        o.add("sr_ratios", ints(c.srRatios()));
        o.add("hidden_sizes", ints(c.embedDims()));
        o.add("patch_sizes", ints(c.patchSizes()));
        o.add("strides", ints(c.strides()));
        o.add("num_attention_heads", ints(c.heads()));
        o.add("mlp_ratios", ints(c.mlpRatios()));
        o.addProperty("hidden_act", "gelu");
        o.addProperty("hidden_dropout_prob", 0.0);
        o.addProperty("attention_probs_dropout_prob", 0.0);
        o.addProperty("classifier_dropout_prob", c.headDropout());
        o.addProperty("drop_path_rate", c.dropPathRate());
        o.addProperty("initializer_range", 0.02);
        o.addProperty("layer_norm_eps", 1e-6);
        o.addProperty("decoder_hidden_size", c.decoderDim());
        List<String> names = new ArrayList<>();
        int ignore = 255;
        if (labels != null) {
            if (labels.outputs() != c.classes()) {
                throw new RetortConfigException("the network has " + c.classes() + " outputs but dataset " + labels.name() + " labels "
                        + labels.outputs() + "; cannot name its classes");
            }
            names.addAll(labels.classes());
            if (labels.ignoreClass() >= names.size() && labels.ignoreClass() < c.classes()) {
                while (names.size() < labels.ignoreClass()) names.add("class_" + names.size());
                names.add("ignore");
            }
            ignore = labels.ignoreClass();
        }
        while (names.size() < c.classes()) names.add("class_" + names.size());
        o.addProperty("semantic_loss_ignore_index", ignore);
        JsonObject id2label = new JsonObject(), label2id = new JsonObject();
        for (int i = 0; i < c.classes(); i++) {
            id2label.addProperty(String.valueOf(i), names.get(i));
            label2id.addProperty(names.get(i), i);
        }
        o.add("id2label", id2label);
        o.add("label2id", label2id);
        return new GsonBuilder().setPrettyPrinting().create().toJson(o);
    }

    private static JsonArray ints(int[] values) {
        JsonArray a = new JsonArray();
        for (int v : values) a.add(v);
        return a;
    }

    private static long countNonFinite(float[] v) {
        long n = 0;
        for (float x : v) if (!Float.isFinite(x)) n++;
        return n;
    }

    // ---- saving ------------------------------------------------------------------------------------------------

    /**
     * Saves in a naming. With {@code hf} naming, a target that is a directory or whose name does not end with
     * {@code .safetensors} is a Hugging Face model directory (created when missing): {@code model.safetensors} plus
     * the {@code config.json} that {@code SegformerForSemanticSegmentation.from_pretrained} reads. Reference naming
     * always writes one file.
     */
    static void save(MitNetwork network, Path file, String naming, DatasetInfo labels) throws IOException {
        if (!naming.equals(REFERENCE) && !naming.equals(HF)) {
            throw new RetortConfigException("unknown naming '" + naming + "' (known: " + REFERENCE + ", " + HF + ")");
        }
        boolean hf = naming.equals(HF);
        if (!hf && Files.isDirectory(file)) {
            throw new RetortConfigException(file + " is a directory: reference naming writes one file (e.g. " + file.resolve("student.safetensors")
                    + "); hf naming writes a model directory");
        }
        if (hf && isModelDirectory(file)) {
            Files.createDirectories(file);
            Files.writeString(file.resolve("config.json"), hfConfig(network.config(), labels));
            file = file.resolve("model.safetensors");
        }
        SafeTensorsWriter w = new SafeTensorsWriter()
                .metadata("format", hf ? "pt" : "SegFormer/TransKD state_dict key names")
                .metadata("retort.variant", network.spec().variant())
                .metadata("retort.naming", naming)
                .metadata("retort.config", new Gson().toJson(network.spec().config()));
        for (var e : network.parameterSet().asMap().entrySet()) {
            String ref = e.getKey();
            NDArray a = e.getValue().getArray();
            if (hf && ref.contains(".attn.kv.")) {
                float[] kv = a.toFloatArray();
                long[] shape = a.getShape().getShape().clone();  // getShape() hands out the array's own dimensions
                shape[0] /= 2;
                int half = kv.length / 2;
                String prefix = hfName(ref.replace(".attn.kv.", ".attn.q.")).replace(".query.", ".key.");
                w.add(prefix, shape, Arrays.copyOfRange(kv, 0, half), DType.F32);
                w.add(prefix.replace(".key.", ".value."), shape, Arrays.copyOfRange(kv, half, kv.length), DType.F32);
                continue;
            }
            w.add(hf ? hfName(ref) : ref, a, DType.F32);
            if (ref.equals("linear_fuse.bn.running_var")) {
                String counter = "linear_fuse.bn." + BATCHES_TRACKED;
                w.add(hf ? hfName(counter) : counter, new long[0], new long[] {0}, DType.I64);
            }
        }
        w.write(file);
    }

    /** The rule of {@link #save}: an existing directory, or a name without the {@code .safetensors} suffix. */
    static boolean isModelDirectory(Path target) {
        return Files.isDirectory(target) || !target.getFileName().toString().endsWith(".safetensors");
    }
}
