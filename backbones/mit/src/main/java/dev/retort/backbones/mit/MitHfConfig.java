package dev.retort.backbones.mit;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.error.RetortConfigException;
import dev.retort.safetensors.TensorSource;
import dev.retort.weights.WeightFiles;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The architecture a Hugging Face model folder's {@code config.json} states, checked against the variant asked for
 * before any tensor is compared, so that {@code mit-b2} with a B0 folder says so instead of listing mis-shaped tensors.
 */
final class MitHfConfig {
    private MitHfConfig() {}

    static void check(TensorSource source, MitConfig network, String variant, LoadMode mode) {
        String text = source.metadata().get(WeightFiles.HF_CONFIG);
        if (text == null) return;
        JsonObject c;
        try {
            JsonElement e = JsonParser.parseString(text);
            if (!e.isJsonObject()) throw new RetortConfigException("not a JSON object");
            c = e.getAsJsonObject();
        } catch (RuntimeException e) {
            throw new RetortConfigException(source.path() + ": its config.json is not valid JSON (" + e.getMessage() + ")");
        }
        if (c.has("model_type") && !"segformer".equals(c.get("model_type").getAsString())) {
            throw new RetortConfigException(source.path() + ": its config.json is for model_type '" + c.get("model_type").getAsString()
                    + "', not a SegFormer: it cannot be " + variant);
        }
        List<String> differences = new ArrayList<>();
        compare(c, "num_channels", new int[] {network.inChannels()}, differences);
        compare(c, "hidden_sizes", network.embedDims(), differences);
        compare(c, "depths", network.depths(), differences);
        compare(c, "num_attention_heads", network.heads(), differences);
        compare(c, "sr_ratios", network.srRatios(), differences);
        compare(c, "mlp_ratios", network.mlpRatios(), differences);
        compare(c, "patch_sizes", network.patchSizes(), differences);
        compare(c, "strides", network.strides(), differences);
        if (mode == LoadMode.STRICT) compare(c, "decoder_hidden_size", new int[] {network.decoderDim()}, differences);
        if (differences.isEmpty()) return;
        String like = "";
        for (Map.Entry<String, MitConfig> p : MitConfig.PRESETS.entrySet()) {
            if (matches(c, "hidden_sizes", p.getValue().embedDims()) && matches(c, "depths", p.getValue().depths())) like = " (it describes " + p.getKey() + ")";
        }
        throw new RetortConfigException(source.path() + ": its config.json describes another network than " + variant + like + ": "
                + String.join("; ", differences));
    }

    private static void compare(JsonObject c, String key, int[] expected, List<String> differences) {
        if (!c.has(key)) return;
        int[] actual = ints(c.get(key));
        if (!Arrays.equals(actual, expected)) {
            differences.add(key + " " + (actual == null ? c.get(key) : show(actual)) + " where the network has " + show(expected));
        }
    }

    private static boolean matches(JsonObject c, String key, int[] expected) {
        return c.has(key) && Arrays.equals(ints(c.get(key)), expected);
    }

    private static String show(int[] v) {
        return v.length == 1 ? String.valueOf(v[0]) : Arrays.toString(v);
    }

    /** A number or a list of numbers; null for anything else. */
    private static int[] ints(JsonElement e) {
        try {
            if (e.isJsonPrimitive()) return new int[] {e.getAsInt()};
            if (!e.isJsonArray()) return null;
            JsonArray a = e.getAsJsonArray();
            int[] out = new int[a.size()];
            for (int i = 0; i < out.length; i++) out[i] = a.get(i).getAsInt();
            return out;
        } catch (RuntimeException ex) {
            return null;
        }
    }
}
