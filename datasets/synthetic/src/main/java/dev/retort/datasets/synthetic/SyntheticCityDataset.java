package dev.retort.datasets.synthetic;

import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.Sample;
import dev.retort.api.data.SampleSource;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.error.RetortConfigException;
import dev.retort.datasets.CityscapesClasses;
import dev.retort.datasets.Protocols;
import dev.retort.datasets.RgbImage;
import dev.retort.nn.Settings;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/**
 * A procedural, seeded street-scene dataset in the Cityscapes 19-class space, generated on the fly at any size:
 * nothing downloaded, nothing stored. Splits are seed ranges: {@code train} = scenes 0…, {@code val} = scenes
 * 1,000,000…, {@code test} = 2,000,000… Options: {@code height} × {@code width} (256 × 512), {@code train_size}
 * (2000), {@code val_size} and {@code test_size} (200), {@code labelled_size} (all of {@code train_size}: only the
 * first N training scenes carry labels, the others come with every pixel ignored, images a teacher can still label
 * for a distilled student; validation and test scenes always carry theirs); the protocols apply as to real data (for
 * {@code transkd} the shorter side defaults to the generated one, so nothing is resized).
 */
@Component(service = SegmentationDataset.class, property = SegmentationDataset.NAME_PROPERTY + "=synthetic")
public class SyntheticCityDataset implements SegmentationDataset {
    private static final Map<String, Long> SPLIT_BASE = Map.of("train", 0L, "val", 1_000_000L, "test", 2_000_000L);

    @Override
    public String name() {
        return "synthetic";
    }

    @Override
    public DatasetInfo info() {
        return info(Protocols.TRANSKD);
    }

    private DatasetInfo info(String protocol) {
        return Protocols.info(name(), CityscapesClasses.NAMES, CityscapesClasses.palette(), CityscapesClasses.transkdWeights(), protocol);
    }

    @Override
    public List<String> protocols() {
        return Protocols.ALL;
    }

    @Override
    public SampleSource open(DatasetRequest request) {
        Protocols.check(request.protocol());
        Long base = SPLIT_BASE.get(request.split());
        if (base == null) throw new RetortConfigException("synthetic: unknown split '" + request.split() + "' (known: " + SPLIT_BASE.keySet() + ")");
        Settings s = new Settings(name(), request.options());
        int height = s.integer("height", 256), width = s.integer("width", 512);
        if (height < 16 || width < 16) throw s.invalid("height and width must be at least 16, got " + height + "x" + width);
        int size = s.integer(request.split() + "_size", request.split().equals("train") ? 2000 : 200);
        if (size <= 0) throw s.invalid(request.split() + "_size must be > 0");
        int trainSize = s.integer("train_size", 2000);
        int labelled = s.integer("labelled_size", trainSize);
        if (labelled < 0 || labelled > trainSize) {
            throw s.invalid("labelled_size must be between 0 and train_size (" + trainSize + "), got " + labelled);
        }
        // only training scenes go unlabelled: the validation and test splits are what a student is measured on
        int labelledScenes = request.split().equals("train") ? labelled : size;
        Map<String, Object> options = new HashMap<>(request.options());
        options.putIfAbsent("short_side", Math.min(height, width));
        Settings protocolOptions = new Settings(name(), options);
        boolean augment = s.bool("augment", request.split().equals("train"));
        DatasetInfo info = info(request.protocol());
        return new SampleSource() {
            @Override
            public int size() {
                return size;
            }

            @Override
            public DatasetInfo info() {
                return info;
            }

            @Override
            public Sample get(int index, long seed) {
                if (index < 0 || index >= size) throw new IndexOutOfBoundsException("synthetic " + request.split() + ": index " + index + " of " + size);
                int[] labels = new int[height * width];
                RgbImage image = CityPainter.paint(width, height, base + index, labels);
                if (index >= labelledScenes) Arrays.fill(labels, Protocols.IGNORE);
                return Protocols.apply(request.protocol(), request.split() + "-" + index, image, labels, CityscapesClasses.NAMES.size(),
                        augment, seed, index, protocolOptions);
            }

            @Override
            public void close() {}
        };
    }
}
