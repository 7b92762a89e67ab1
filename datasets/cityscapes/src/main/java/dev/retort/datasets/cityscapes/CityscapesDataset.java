package dev.retort.datasets.cityscapes;

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
 * Cityscapes (fine): {@code leftImg8bit/<split>/<city>/*_leftImg8bit.png} with
 * {@code gtFine/<split>/<city>/*_gtFine_labelTrainIds.png}; where only {@code *_gtFine_labelIds.png} exist, label
 * ids are mapped to the 19 train ids on the fly.
 */
@Component(service = SegmentationDataset.class, property = SegmentationDataset.NAME_PROPERTY + "=cityscapes")
public class CityscapesDataset extends CityscapesLabelSpace {
    @Override
    public String name() {
        return "cityscapes";
    }

    @Override
    protected List<Pair> scan(Path root, String split, Settings options) throws IOException {
        Path images = root.resolve("leftImg8bit").resolve(split);
        Path labels = root.resolve("gtFine").resolve(split);
        List<Pair> pairs = new ArrayList<>();
        for (Path image : filesEndingWith(images, "_leftImg8bit.png")) {
            String stem = image.getFileName().toString().replace("_leftImg8bit.png", "");
            Path dir = labels.resolve(images.relativize(image.getParent()));
            Path train = dir.resolve(stem + "_gtFine_labelTrainIds.png");
            Path ids = dir.resolve(stem + "_gtFine_labelIds.png");
            if (Files.exists(train)) pairs.add(new Pair(stem, image, train));
            else if (Files.exists(ids)) pairs.add(new Pair(stem, image, ids));
            else pairs.add(new Pair(stem, image, train, image + ": no label (looked for " + train + " and " + ids + ")"));
        }
        return pairs;
    }

    @Override
    protected int mapLabel(Pair pair, int raw) {
        return pair.label().getFileName().toString().endsWith("_gtFine_labelIds.png") ? CityscapesClasses.fromLabelId(raw)
                : CityscapesClasses.trainId(raw);
    }
}
