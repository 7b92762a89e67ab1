package dev.retort.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.data.DatasetRequest;
import dev.retort.api.data.Sample;
import dev.retort.api.data.SampleSource;
import dev.retort.api.data.SegmentationDataset;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.IntBinaryOperator;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;
import org.osgi.util.tracker.ServiceTracker;

/** Each dataset is its own bundle: stopping one takes its service away and leaves the others open. */
@ExtendWith({BundleContextExtension.class, ServiceExtension.class})
class DatasetBundlesTest {
    private static final List<String> DATASETS = List.of("cityscapes", "acdc", "nyuv2", "voc2012", "synthetic", "batch-file");

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    CommandProcessor shell;

    @Test
    void everyDatasetIsRegisteredByItsOwnBundle() throws Exception {
        for (String name : DATASETS) {
            assertEquals("dev.retort.datasets-" + name.replace("-", ""), await(name).getBundle().getSymbolicName());
        }
        String info = kd("kd:info");
        assertTrue(info.contains("datasets (6)"), info);
        for (String name : DATASETS) {
            assertTrue(info.contains("  " + name + "  protocols transkd, standard  <- dev.retort.datasets-" + name.replace("-", "")), info);
        }
    }

    @Test
    void stoppingTheVocBundleRemovesOnlyVocAndStartingItBringsItBack(@TempDir Path root) throws Exception {
        tinyVoc(root);
        assertTrue(kd("kd:dataset --split val voc2012 " + root).contains("OK"));
        Bundle voc = bundle("dev.retort.datasets-voc2012");
        voc.stop();
        try {
            assertTrue(references("voc2012").isEmpty(), "the stopped bundle's service is gone");
            Exception gone = assertThrows(Exception.class, () -> kd("kd:dataset --split val voc2012 " + root));
            assertTrue(gone.getMessage().contains("no dataset service 'voc2012'"), gone.getMessage());
            String info = kd("kd:info");
            assertTrue(info.contains("datasets (5)") && !info.contains("voc2012"), info);

            // the library and the other datasets carry on
            assertEquals(Bundle.ACTIVE, bundle("dev.retort.datasets-support").getState());
            for (String other : List.of("cityscapes", "acdc", "nyuv2")) {
                assertFalse(references(other).isEmpty(), other + " is still registered");
            }
            ServiceReference<SegmentationDataset> ref = await("synthetic");
            SegmentationDataset synthetic = context.getService(ref);
            try (SampleSource val = synthetic.open(new DatasetRequest(null, "val", "transkd", Map.of("height", 32, "width", 64, "val_size", 2)))) {
                Sample sample = val.get(1, 0);
                assertEquals(32, sample.height());
                assertEquals(8, sample.labelHeight());
            } finally {
                context.ungetService(ref);
            }
        } finally {
            if (voc.getState() != Bundle.ACTIVE) voc.start();
        }
        assertEquals(voc.getBundleId(), await("voc2012").getBundle().getBundleId());
        String again = kd("kd:dataset --split val voc2012 " + root);
        assertTrue(again.contains("samples    1") && again.contains("OK"), again);
    }

    /** One 40×30 Pascal VOC sample in split val: an RGB JPEG and a one-channel label of classes 0 and 15. */
    private static void tinyVoc(Path root) throws IOException {
        Files.createDirectories(root.resolve("ImageSets/Segmentation"));
        Files.writeString(root.resolve("ImageSets/Segmentation/val.txt"), "2007_000032\n");
        write(root.resolve("JPEGImages/2007_000032.jpg"), "jpg", BufferedImage.TYPE_INT_RGB, 40, 30, (x, y) -> x * 6 << 16 | y * 8);
        write(root.resolve("SegmentationClass/2007_000032.png"), "png", BufferedImage.TYPE_BYTE_GRAY, 40, 30, (x, y) -> x < 20 ? 0 : 15);
    }

    private static void write(Path file, String format, int type, int w, int h, IntBinaryOperator pixel) throws IOException {
        Files.createDirectories(file.getParent());
        BufferedImage img = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (type == BufferedImage.TYPE_BYTE_GRAY) img.getRaster().setSample(x, y, 0, pixel.applyAsInt(x, y));
                else img.setRGB(x, y, pixel.applyAsInt(x, y));
            }
        }
        if (!ImageIO.write(img, format, file.toFile())) throw new IOException("no writer for " + format);
    }

    private List<ServiceReference<SegmentationDataset>> references(String name) throws Exception {
        return List.copyOf(context.getServiceReferences(SegmentationDataset.class, filter(name)));
    }

    private static String filter(String name) {
        return "(" + SegmentationDataset.NAME_PROPERTY + "=" + name + ")";
    }

    /** The dataset's service, waiting for it while its bundle starts (10 s at most). */
    private ServiceReference<SegmentationDataset> await(String name) throws Exception {
        ServiceTracker<SegmentationDataset, SegmentationDataset> tracker = new ServiceTracker<>(context,
                context.createFilter("(&(objectClass=" + SegmentationDataset.class.getName() + ")" + filter(name) + ")"), null);
        tracker.open();
        try {
            assertNotNull(tracker.waitForService(10_000), "no dataset service '" + name + "'");
            return tracker.getServiceReference();
        } finally {
            tracker.close();
        }
    }

    private Bundle bundle(String bsn) {
        return Stream.of(context.getBundles()).filter(b -> bsn.equals(b.getSymbolicName())).findFirst()
                .orElseThrow(() -> new AssertionError("no bundle " + bsn));
    }

    private String kd(String line) throws Exception {
        return Gogo.run(shell, line);
    }
}
