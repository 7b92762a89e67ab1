package dev.retort.api.data;

import java.io.IOException;
import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/** A dataset kind (e.g. {@code cityscapes}), registered as an OSGi service. */
@ConsumerType
public interface SegmentationDataset {
    /** Service property carrying {@link #name()}. */
    String NAME_PROPERTY = "retort.dataset";

    /** Dataset name, e.g. {@code cityscapes}, {@code synthetic}. */
    String name();

    /** Classes, ignore handling, palette and loss weights. */
    DatasetInfo info();

    /** Protocol names this dataset supports, e.g. {@code transkd}, {@code standard}. */
    List<String> protocols();

    /**
     * Opens a split.
     *
     * @throws IOException              when the files cannot be read
     * @throws IllegalArgumentException for an unknown split or protocol, or a root that is not this dataset's layout
     */
    SampleSource open(DatasetRequest request) throws IOException;
}
