package dev.retort.api.backbone;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.retort.api.data.DatasetInfo;
import dev.retort.api.tap.TapValues;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.osgi.annotation.versioning.ConsumerType;

/** A built network: forward pass with taps, and its parameters by reference name. */
@ConsumerType
public interface SegmentationNetwork extends AutoCloseable {
    NetworkSpec spec();

    /**
     * Runs the network on an image batch [B, 3, H, W] and returns every tap of {@link NetworkSpec#taps()}.
     * New arrays are attached to the image's manager, so a per-step sub-manager releases them.
     *
     * @param training training mode: BatchNorm batch statistics, DropPath and Dropout active
     */
    TapValues forward(NDArray image, boolean training);

    /**
     * Runs the network as far as the taps in {@code taps} need: it returns at least those, and may leave out the work
     * no asked tap depends on (a SegFormer stops before its decode head when the logits are not asked for). The
     * default runs the whole forward.
     *
     * @since 1.4
     */
    default TapValues forward(NDArray image, boolean training, Set<String> taps) {
        return forward(image, training);
    }

    /**
     * Every parameter and buffer (BatchNorm running statistics included) by its reference state-dict name,
     * in a stable order. Trainable ones have {@code requiresGradient()}.
     */
    Map<String, Parameter> parameters();

    /** Weight namings this network reads and writes, e.g. {@code reference} (the default) and {@code hf}. */
    List<String> namings();

    /**
     * Loads a safetensors weights file in any naming of {@link #namings()} (recognised from its keys).
     *
     * @throws IllegalArgumentException when the file does not fit (the message lists every missing, unexpected
     *                                  and mis-shaped key); nothing is changed then
     * @throws IOException              when the file cannot be read
     */
    LoadReport load(Path file, LoadMode mode) throws IOException;

    /** Saves every parameter and buffer in the given naming (atomically). */
    void save(Path file, String naming) throws IOException;

    /**
     * Saves like {@link #save(Path, String)} and records the label space of the dataset the network was trained on
     * where the naming has a place for it (e.g. {@code id2label} of a Hugging Face {@code config.json}).
     *
     * @param labels class names and ignore convention, or {@code null} when unknown
     */
    default void save(Path file, String naming, DatasetInfo labels) throws IOException {
        save(file, naming);
    }

    /** Releases the parameters. */
    @Override
    void close();
}
