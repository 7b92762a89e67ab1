package dev.retort.weights;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.retort.safetensors.TensorInfo;
import dev.retort.safetensors.TensorSource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shards of a model listed by a Hugging Face index ({@code model.safetensors.index.json},
 * {@code pytorch_model.bin.index.json}: {@code {"metadata": {...}, "weight_map": {tensor: shard file}}}) as one source.
 * Shards are files of the index's own folder (a name with a path in it is refused); every tensor the index lists must
 * be in the shard it names, and no tensor may be in two shards.
 */
final class ShardedWeights implements TensorSource {
    private static final long MAX_INDEX_BYTES = 64L << 20;

    private final Path index;
    private final List<TensorSource> shards;
    private final Map<String, TensorSource> owner;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private ShardedWeights(Path index, List<TensorSource> shards, Map<String, TensorSource> owner, Map<String, TensorInfo> tensors,
                           Map<String, String> metadata) {
        this.index = index;
        this.shards = shards;
        this.owner = owner;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    static ShardedWeights open(Path index) throws IOException {
        if (Files.size(index) > MAX_INDEX_BYTES) throw new WeightsException(index + ": an index of " + Files.size(index) + " bytes is not a shard index");
        JsonObject root;
        try {
            JsonElement e = JsonParser.parseString(Files.readString(index, StandardCharsets.UTF_8));
            if (!e.isJsonObject()) throw new WeightsException(index + ": not a JSON object");
            root = e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new WeightsException(index + ": not valid JSON (" + e.getMessage() + ")");
        }
        if (!root.has("weight_map") || !root.get("weight_map").isJsonObject()) {
            throw new WeightsException(index + ": no \"weight_map\" object: not a Hugging Face shard index");
        }
        Map<String, String> listed = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : root.getAsJsonObject("weight_map").entrySet()) {
            if (!e.getValue().isJsonPrimitive()) throw new WeightsException(index + ": weight_map entry '" + e.getKey() + "' is not a file name");
            String shard = e.getValue().getAsString();
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals(".") || shard.equals("..")) {
                throw new WeightsException(index + ": shard '" + shard + "' of '" + e.getKey() + "' is not a file name of the index's folder");
            }
            listed.put(e.getKey(), shard);
        }
        if (listed.isEmpty()) throw new WeightsException(index + ": the weight_map lists no tensor");
        Path dir = index.toAbsolutePath().getParent();
        Map<String, TensorSource> byFile = new LinkedHashMap<>();
        List<TensorSource> opened = new ArrayList<>();
        try {
            for (String shard : new java.util.LinkedHashSet<>(listed.values())) {
                Path file = dir.resolve(shard);
                if (!Files.isRegularFile(file)) throw new WeightsException(index + ": shard " + shard + " is missing from " + dir);
                TensorSource s = WeightFiles.openFile(file);
                opened.add(s);
                byFile.put(shard, s);
            }
            Map<String, TensorSource> owner = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : listed.entrySet()) {
                TensorSource s = byFile.get(e.getValue());
                if (!s.contains(e.getKey())) throw new WeightsException(index + ": lists '" + e.getKey() + "' in " + e.getValue() + ", which does not hold it");
            }
            for (Map.Entry<String, TensorSource> e : byFile.entrySet()) {
                for (Map.Entry<String, TensorInfo> t : e.getValue().tensors().entrySet()) {
                    TensorSource before = owner.put(t.getKey(), e.getValue());
                    if (before != null) {
                        throw new WeightsException(index + ": tensor '" + t.getKey() + "' is in two shards, " + before.path().getFileName() + " and " + e.getKey());
                    }
                    tensors.put(t.getKey(), t.getValue());
                }
            }
            Map<String, String> metadata = new LinkedHashMap<>();
            if (root.has("metadata") && root.get("metadata").isJsonObject()) {
                root.getAsJsonObject("metadata").entrySet().forEach(e -> metadata.put(e.getKey(),
                        e.getValue().isJsonPrimitive() ? e.getValue().getAsString() : e.getValue().toString()));
            }
            return new ShardedWeights(index, opened, owner, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
        } catch (IOException | RuntimeException e) {
            for (TensorSource s : opened) s.close();
            throw e;
        }
    }

    @Override
    public Path path() {
        return index;
    }

    @Override
    public String format() {
        return "Hugging Face shard index (" + shards.size() + " shards: " + shards.get(0).format() + ")";
    }

    @Override
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    private TensorSource shard(String name) throws WeightsException {
        TensorSource s = owner.get(name);
        if (s == null) throw new WeightsException(index + ": no tensor '" + name + "' in any shard");
        return s;
    }

    @Override
    public TensorInfo info(String name) throws IOException {
        return shard(name).info(name);
    }

    @Override
    public float[] readFloats(String name) throws IOException {
        return shard(name).readFloats(name);
    }

    @Override
    public long[] readLongs(String name) throws IOException {
        return shard(name).readLongs(name);
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (TensorSource s : shards) {
            try {
                s.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
