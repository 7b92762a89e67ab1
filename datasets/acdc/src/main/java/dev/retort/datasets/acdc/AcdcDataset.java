package dev.retort.datasets.acdc;

import dev.retort.api.data.SegmentationDataset;
import dev.retort.datasets.CityscapesClasses;
import dev.retort.datasets.CityscapesLabelSpace;
import dev.retort.nn.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/**
 * ACDC: {@code rgb_anon/<condition>/<split>/<sequence>/*_rgb_anon.png} with
 * {@code gt/<condition>/<split>/<sequence>/*_gt_labelTrainIds.png}, conditions fog, night, rain and snow pooled by
 * default ({@code condition} option selects one). Sample ids start with the condition ({@code fog/…}) so that
 * evaluation can be split per condition.
 */
@Component(service = SegmentationDataset.class, property = SegmentationDataset.NAME_PROPERTY + "=acdc")
public class AcdcDataset extends CityscapesLabelSpace {
    static final List<String> CONDITIONS = List.of("fog", "night", "rain", "snow");

    @Override
    public String name() {
        return "acdc";
    }

    @Override
    protected List<Pair> scan(Path root, String split, Settings options) throws IOException {
        Object only = options.raw("condition");
        List<String> conditions = only == null || only.toString().equals("all") ? CONDITIONS : List.of(only.toString());
        for (String c : conditions) {
            if (!CONDITIONS.contains(c)) throw options.invalid("condition must be one of " + CONDITIONS + " or all, got '" + c + "'");
        }
        List<Pair> pairs = new ArrayList<>();
        for (String condition : conditions) {
            Path images = root.resolve("rgb_anon").resolve(condition).resolve(split);
            if (only == null && !Files.isDirectory(images)) continue;  // pooled: a condition may be absent
            Path labels = root.resolve("gt").resolve(condition).resolve(split);
            for (Path image : filesEndingWith(images, "_rgb_anon.png")) {
                String stem = image.getFileName().toString().replace("_rgb_anon.png", "");
                Path label = labels.resolve(images.relativize(image.getParent())).resolve(stem + "_gt_labelTrainIds.png");
                pairs.add(new Pair(condition + "/" + stem, image, label, Files.exists(label) ? null : image + ": no label " + label));
            }
        }
        if (pairs.isEmpty()) throw new IOException("acdc: no rgb_anon/<condition>/" + split + " folder under " + root);
        return pairs;
    }

    @Override
    protected int mapLabel(Pair pair, int raw) {
        return CityscapesClasses.trainId(raw);
    }
}
