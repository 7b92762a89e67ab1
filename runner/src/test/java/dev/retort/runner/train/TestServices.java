package dev.retort.runner.train;

import ai.djl.engine.Engine;
import dev.retort.api.backbone.Backbone;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.distill.Distiller;
import dev.retort.api.run.RunEvent;
import dev.retort.backbones.mit.MitBackbone;
import dev.retort.backbones.pvtv2.PvtBackbone;
import dev.retort.datasets.cityscapes.CityscapesDataset;
import dev.retort.datasets.synthetic.SyntheticCityDataset;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The registry a trainer sees, without OSGi: the real MiT and PVTv2 backbones (by the variant's name), the synthetic
 * city and a mutable distiller list.
 */
public final class TestServices implements Trainer.Services {
    static final Engine ENGINE = DjlRuntime.startOffline(Path.of("target", "djl-cache"));

    final List<Trainer.Registered> distillers = new CopyOnWriteArrayList<>();
    public final List<RunEvent> events = new CopyOnWriteArrayList<>();
    public volatile Consumer<RunEvent> onEvent = e -> { };
    private long generation;

    public TestServices(Distiller... ds) {
        for (Distiller d : ds) add(d);
    }

    void add(Distiller d) {
        distillers.add(new Trainer.Registered(d.name(), d, ++generation));
    }

    void remove(String name) {
        distillers.removeIf(r -> r.name().equals(name));
    }

    @Override
    public Engine engine() {
        return ENGINE;
    }

    @Override
    public Backbone backbone(String variant) {
        return variant.startsWith("pvtv2") ? new PvtBackbone() : new MitBackbone();
    }

    @Override
    public SegmentationDataset dataset(String name) {
        if (name.equals("cityscapes")) return new CityscapesDataset();
        if (name.equals("batch-file")) return new dev.retort.datasets.batchfile.BatchFileDataset();
        return new SyntheticCityDataset();
    }

    @Override
    public List<Trainer.Registered> distillers() {
        return new ArrayList<>(distillers);
    }

    @Override
    public void publish(RunEvent event) {
        events.add(event);
        onEvent.accept(event);
    }

    /** A tiny B2 → B0-shaped pair on 32×64 synthetic scenes. */
    public static Map<String, Object> tinyRun(Path output) {
        return new java.util.HashMap<>(Map.ofEntries(
                Map.entry("name", "tiny"), Map.entry("output", output.toString()), Map.entry("seed", "5"),
                Map.entry("teacher", "mit-b2"), Map.entry("teacher.embed_dims", "16,32,48,64"), Map.entry("teacher.depths", "1,1,1,1"),
                Map.entry("teacher.num_heads", "1,2,3,4"), Map.entry("teacher.decoder_dim", "32"),
                Map.entry("student", "mit-b0"), Map.entry("student.embed_dims", "8,16,24,32"), Map.entry("student.depths", "1,1,1,1"),
                Map.entry("student.num_heads", "1,2,3,4"), Map.entry("student.decoder_dim", "16"),
                Map.entry("dataset", "synthetic"), Map.entry("data.height", "32"), Map.entry("data.width", "64"),
                Map.entry("data.train_size", "8"), Map.entry("data.val_size", "4"),
                Map.entry("batch_size", "2"), Map.entry("iterations", "6"), Map.entry("eval_every", "3"), Map.entry("decay_per", "iteration"),
                Map.entry("decay_steps", "100"), Map.entry("lr", "1e-3"), Map.entry("threads", "2"), Map.entry("log_every", "1")));
    }

    public static Trainer runToEnd(Trainer t) {
        t.run();
        return t;
    }
}
