package dev.retort.datasets.voc2012;

import dev.retort.api.data.SegmentationDataset;
import dev.retort.datasets.FileDataset;
import dev.retort.datasets.Protocols;
import dev.retort.nn.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/**
 * Pascal VOC 2012: {@code JPEGImages/<id>.jpg}, {@code SegmentationClass/<id>.png} (palette PNGs, read as palette
 * indices, never colours) and {@code ImageSets/Segmentation/<split>.txt}; the SBD-augmented split {@code trainaug}
 * reads {@code ImageSets/Segmentation/trainaug.txt} with labels from {@code SegmentationClassAug} when present.
 * 21 classes (background + 20), 255 = boundary/ignore.
 */
@Component(service = SegmentationDataset.class, property = SegmentationDataset.NAME_PROPERTY + "=voc2012")
public class VocDataset extends FileDataset {
    static final List<String> NAMES = List.of("background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
            "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor");

    @Override
    public String name() {
        return "voc2012";
    }

    @Override
    protected List<String> classes() {
        return NAMES;
    }

    /** VOC's palette: bits of the class index spread over the high bits of R, G and B. */
    @Override
    protected int[] palette() {
        int[] p = new int[NAMES.size()];
        for (int i = 0; i < p.length; i++) {
            int r = 0, g = 0, b = 0, c = i;
            for (int j = 0; j < 8; j++) {
                r |= ((c >> 0) & 1) << (7 - j);
                g |= ((c >> 1) & 1) << (7 - j);
                b |= ((c >> 2) & 1) << (7 - j);
                c >>= 3;
            }
            p[i] = (r << 16) | (g << 8) | b;
        }
        return p;
    }

    @Override
    protected float[] transkdWeights() {
        return Protocols.uniformWithIgnore(NAMES.size());
    }

    @Override
    protected List<Pair> scan(Path root, String split, Settings options) throws IOException {
        List<String> ids = listFile(root.resolve("ImageSets").resolve("Segmentation").resolve(split + ".txt"));
        Path aug = root.resolve("SegmentationClassAug");
        Path labels = split.equals("trainaug") && Files.isDirectory(aug) ? aug : root.resolve("SegmentationClass");
        List<Pair> pairs = new ArrayList<>();
        for (String id : ids) {
            Path image = root.resolve("JPEGImages").resolve(id + ".jpg");
            Path label = labels.resolve(id + ".png");
            String problem = !Files.exists(image) ? image + ": listed in " + split + ".txt but missing"
                    : !Files.exists(label) ? image + ": no label " + label : null;
            pairs.add(new Pair(id, image, label, problem));
        }
        return pairs;
    }

    @Override
    protected int mapLabel(Pair pair, int raw) {
        return raw < NAMES.size() || raw == Protocols.IGNORE ? raw : -1;
    }
}
