package dev.retort.weights;

import dev.retort.safetensors.TensorInfo;
import dev.retort.safetensors.TensorSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** A source seen as a Hugging Face model folder: the folder's path and format, its {@code config.json} added to the metadata. */
final class SourceView implements TensorSource {
    private final TensorSource inner;
    private final Path path;
    private final String format;
    private final Map<String, String> metadata;

    SourceView(TensorSource inner, Path path, String format, Map<String, String> extra) {
        this.inner = inner;
        this.path = path;
        this.format = format;
        Map<String, String> m = new LinkedHashMap<>(inner.metadata());
        m.putAll(extra);
        this.metadata = Collections.unmodifiableMap(m);
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public String format() {
        return format;
    }

    @Override
    public Map<String, TensorInfo> tensors() {
        return inner.tensors();
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public TensorInfo info(String name) throws IOException {
        return inner.info(name);
    }

    @Override
    public float[] readFloats(String name) throws IOException {
        return inner.readFloats(name);
    }

    @Override
    public long[] readLongs(String name) throws IOException {
        return inner.readLongs(name);
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }
}
