package dev.retort.datasets.batchfile;

import dev.retort.api.data.DatasetInfo;
import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.SampleSource;
import dev.retort.api.data.SegmentationDataset;
import dev.retort.api.error.RetortConfigException;
import dev.retort.datasets.CityscapesClasses;
import dev.retort.datasets.Protocols;
import dev.retort.nn.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.osgi.service.component.annotations.Component;

/**
 * Recorded batches from one safetensors file: {@code images.<t>} ({@code B×3×H×W}, floating point, given to the network
 * as stored) and {@code labels.<t>} ({@code B×h×w}, integers in the Cityscapes label space as the protocol delivers it)
 * for batches {@code t = 0, 1, …}. The samples are read in the file's order every epoch ({@link SampleSource#fixedOrder()}):
 * with {@code batch_size = B} step {@code t} trains on batch {@code t}. Every split reads the same file
 * ({@code data.root}); options: {@code class_weights} (one per output; default the TransKD Cityscapes weights under
 * {@code transkd}, 1 per class under {@code standard}). Augmentation is never applied.
 */
@Component(service = SegmentationDataset.class, property = SegmentationDataset.NAME_PROPERTY + "=" + BatchFileDataset.NAME)
public class BatchFileDataset implements SegmentationDataset {
    static final String NAME = "batch-file";
    static final List<String> OPTIONS = List.of("class_weights", "augment");

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public DatasetInfo info() {
        return info(Protocols.TRANSKD, null);
    }

    /** The Cityscapes label space as {@code protocol} delivers it, with {@code weights} when given. */
    static DatasetInfo info(String protocol, float[] weights) {
        DatasetInfo base = Protocols.info(NAME, CityscapesClasses.NAMES, CityscapesClasses.palette(), CityscapesClasses.transkdWeights(), protocol);
        if (weights == null) return base;
        return new DatasetInfo(NAME, base.classes(), base.ignoreClass(), base.outputs(), weights, base.palette(), base.miou());
    }

    @Override
    public List<String> protocols() {
        return Protocols.ALL;
    }

    @Override
    public SampleSource open(DatasetRequest request) throws IOException {
        Protocols.check(request.protocol());
        Settings options = new Settings(NAME, request.options());
        options.requireKnown("data.", OPTIONS);
        if (request.root() == null) throw new RetortConfigException(NAME + " needs data.root = a safetensors file of images.<t> and labels.<t>");
        if (!Files.isRegularFile(request.root())) throw new IOException(NAME + ": data.root " + request.root() + " is not a file");
        DatasetInfo info = info(request.protocol(), null);
        float[] weights = null;
        if (options.raw("class_weights") != null) {
            double[] w = options.reals("class_weights", null);
            if (w.length != info.outputs()) {
                throw options.invalid("class_weights needs " + info.outputs() + " values (one per output of the " + request.protocol() + " protocol), got " + w.length);
            }
            weights = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                if (!(w[i] >= 0) || !Double.isFinite(w[i])) throw options.invalid("class_weights must be finite and >= 0, got " + w[i] + " at " + i);
                weights[i] = (float) w[i];
            }
        }
        return BatchFileSource.read(request.root(), info(request.protocol(), weights));
    }
}
