package dev.retort.backbones.pvtv2;

import static dev.retort.backbones.support.WeightReports.list;

import com.google.gson.Gson;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.LoadReport;
import dev.retort.api.error.RetortConfigException;
import dev.retort.nn.ParameterSet;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsWriter;
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

/**
 * Weights in TransKD's PVTv2 state-dict naming ({@code backbone.block1.0.attn.kv.weight}, {@code neck.fpn_convs.0.conv.bias},
 * {@code head.conv_seg.weight}); {@code module.} prefixes are stripped and from a distillation checkpoint only the
 * {@code student.} keys are taken. A file without any {@code backbone.} key is read as PVTv2's ImageNet checkpoint
 * ({@code patch_embed1.proj.weight}, …, and its classifier {@code head.weight}): its keys are encoder keys, which is
 * how TransKD's {@code load_my_state_dict} starts a teacher from it (use {@link LoadMode#ENCODER_ONLY}).
 */
final class PvtWeights {
    static final String REFERENCE = "reference";
    private static final String BATCHES_TRACKED = "num_batches_tracked";

    private PvtWeights() {}

    static boolean isEncoder(String name) {
        return name.startsWith(PvtModel.BACKBONE + ".");
    }

    static LoadReport load(PvtNetwork network, Path file, LoadMode mode) throws IOException {
        ParameterSet params = network.parameterSet();
        try (TensorSource f = WeightFiles.open(file)) {
            if (f.metadata().containsKey(WeightFiles.HF_CONFIG)) {
                throw new RetortConfigException(f.path() + " is a Hugging Face model (config.json): " + network.spec().variant()
                        + " reads TransKD's PVTv2 naming only, not transformers' pvt_v2");
            }
            boolean hasStudent = f.tensors().keySet().stream().anyMatch(k -> strip(k).startsWith("student."));
            Map<String, String> names = new LinkedHashMap<>();  // file key -> key without prefixes
            for (String key : f.tensors().keySet()) {
                String k = strip(key);
                if (hasStudent) {
                    if (!k.startsWith("student.")) continue;  // a distillation checkpoint: the rest are KD modules
                    k = k.substring("student.".length());
                }
                if (!k.endsWith(BATCHES_TRACKED)) names.put(key, k);
            }
            List<String> warnings = new ArrayList<>();
            boolean imagenet = !names.isEmpty() && names.values().stream().noneMatch(PvtWeights::isEncoder);
            if (imagenet) {
                names.replaceAll((key, k) -> PvtModel.BACKBONE + "." + k);
                warnings.add("no backbone.* key: read as an ImageNet PVTv2 checkpoint, its keys as backbone.<key>");
            }
            Map<String, String> sources = new LinkedHashMap<>();  // reference name -> file key
            List<String> unexpected = new ArrayList<>(), missing = new ArrayList<>(), mismatched = new ArrayList<>();
            names.forEach((key, ref) -> {
                if (!params.contains(ref) || (mode == LoadMode.ENCODER_ONLY && !isEncoder(ref))) unexpected.add(key);
                else sources.put(ref, key);
            });
            Map<String, String> toLoad = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : sources.entrySet()) {
                long[] fileShape = f.info(e.getValue()).shape();
                long[] netShape = params.get(e.getKey()).getShape().getShape();
                if (Arrays.equals(fileShape, netShape)) toLoad.put(e.getKey(), e.getValue());
                else mismatched.add(e.getKey() + ": file " + Arrays.toString(fileShape) + " vs network " + Arrays.toString(netShape));
            }
            for (String name : params.asMap().keySet()) {
                if (!sources.containsKey(name) && (mode == LoadMode.STRICT || isEncoder(name))) missing.add(name);
            }
            boolean strictUnexpected = mode == LoadMode.STRICT && !unexpected.isEmpty();
            if (!missing.isEmpty() || !mismatched.isEmpty() || strictUnexpected) {
                throw new RetortConfigException(file + " does not fit " + network.spec().variant() + " (" + REFERENCE + " naming"
                        + (imagenet ? " of an ImageNet checkpoint" : "") + ", " + mode + "):" + list("missing", missing)
                        + list("mis-shaped", mismatched) + (strictUnexpected ? list("unexpected", unexpected) : ""));
            }
            Map<String, float[]> values = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : toLoad.entrySet()) {
                float[] v = f.readFloats(e.getValue());
                long bad = 0;
                for (float x : v) if (!Float.isFinite(x)) bad++;
                if (bad > 0) warnings.add(e.getKey() + ": " + bad + " NaN or infinite values");
                values.put(e.getKey(), v);
            }
            // Everything was read and checked: only now touch the network.
            values.forEach(params::assign);
            return new LoadReport(file.toString(), REFERENCE, values.size(), missing, unexpected, mismatched, warnings);
        }
    }

    static void save(PvtNetwork network, Path file, String naming) throws IOException {
        if (!naming.equals(REFERENCE)) {
            throw new RetortConfigException("unknown naming '" + naming + "' for " + network.spec().variant() + " (known: " + REFERENCE
                    + "; PVTv2 has no Hugging Face SegFormer naming)");
        }
        if (Files.isDirectory(file)) {
            throw new RetortConfigException(file + " is a directory: reference naming writes one file (e.g. "
                    + file.resolve("student.safetensors") + ")");
        }
        SafeTensorsWriter w = new SafeTensorsWriter()
                .metadata("format", "TransKD PVTv2 (backbone./neck./head.) state_dict key names")
                .metadata("retort.variant", network.spec().variant())
                .metadata("retort.naming", naming)
                .metadata("retort.config", new Gson().toJson(network.spec().config()));
        network.parameterSet().asMap().forEach((name, p) -> w.add(name, p.getArray(), DType.F32));
        w.write(file);
    }

    private static String strip(String key) {
        String k = key;
        while (k.startsWith("module.")) k = k.substring("module.".length());
        return k;
    }
}
