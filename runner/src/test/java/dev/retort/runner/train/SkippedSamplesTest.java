package dev.retort.runner.train;

import dev.retort.api.run.RunState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.image.BufferedImage;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** data.on_error = skip: what the dataset leaves out reaches the run's log, metrics.jsonl and the trainer's count. */
class SkippedSamplesTest {
    @TempDir
    Path dir;

    private static void png(Path file, int w, int h, java.util.function.IntBinaryOperator value, boolean grey) throws Exception {
        BufferedImage img = new BufferedImage(w, h, grey ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
            if (grey) img.getRaster().setSample(x, y, 0, value.applyAsInt(x, y));
            else img.setRGB(x, y, value.applyAsInt(x, y));
        }
        Files.createDirectories(file.getParent());
        ImageIO.write(img, "png", file.toFile());
    }

    /** A Cityscapes layout: 4 good train images, one without a label, one corrupt; 2 good val images. */
    private Path cityscapes() throws Exception {
        Path root = dir.resolve("cityscapes");
        for (String split : List.of("train", "val")) {
            for (int i = 0; i < (split.equals("train") ? 4 : 2); i++) {
                String stem = "aachen_00000" + i + "_000019";
                int seed = i;
                png(root.resolve("leftImg8bit/" + split + "/aachen/" + stem + "_leftImg8bit.png"), 64, 32, (x, y) -> (x * 7 + seed) << 16 | y * 5, false);
                png(root.resolve("gtFine/" + split + "/aachen/" + stem + "_gtFine_labelTrainIds.png"), 64, 32, (x, y) -> (x / 4) % 19, true);
            }
        }
        png(root.resolve("leftImg8bit/train/bonn/bonn_000000_000019_leftImg8bit.png"), 64, 32, (x, y) -> x, false);  // no label
        Files.createDirectories(root.resolve("leftImg8bit/train/bonn"));
        Files.writeString(root.resolve("leftImg8bit/train/bonn/bonn_000001_000019_leftImg8bit.png"), "not a png");  // corrupt
        png(root.resolve("gtFine/train/bonn/bonn_000001_000019_gtFine_labelTrainIds.png"), 64, 32, (x, y) -> 1, true);
        return root;
    }

    @Test
    void skippedSamplesAreCountedInTheLogTheMetricsAndTheTrainer() throws Exception {
        Map<String, Object> run = TestServices.tinyRun(dir.resolve("run"));
        run.keySet().removeIf(k -> k.startsWith("teacher") || k.startsWith("data."));
        run.put("modules", "none");
        run.put("dataset", "cityscapes");
        run.put("data.root", cityscapes().toString());
        run.put("data.short_side", "32");
        run.put("data.on_error", "skip");
        run.put("iterations", "5");
        run.put("eval_every", "5");
        Trainer t = TestServices.runToEnd(new Trainer("skip", RunSettings.of(run), new TestServices(), null, new PrintStream(PrintStream.nullOutputStream())));
        assertEquals(RunState.FINISHED, t.status().state(), String.valueOf(t.failure()));
        long[] skipped = t.skippedSamples();
        // 5 samples listed → 1 left out at open, 4 in the epoch; the corrupt one is met at least once in 5 steps of 2
        assertTrue(skipped[0] >= 2, "train skipped " + skipped[0]);
        assertEquals(0, skipped[1]);
        String log = Files.readString(dir.resolve("run/train.log"));
        assertTrue(log.contains("data.on_error = skip: 1 train and 0 validation samples left out when the splits were opened"), log);
        assertTrue(log.contains("failed to load and were skipped (data.on_error = skip)"), log);
        assertTrue(log.contains("samples skipped under data.on_error = skip: " + skipped[0] + " train, 0 validation"), log);
        List<JsonObject> events = Files.readAllLines(dir.resolve("run/metrics.jsonl")).stream().map(l -> JsonParser.parseString(l).getAsJsonObject()).toList();
        JsonObject finished = events.stream().filter(e -> e.get("type").getAsString().equals("FINISHED")).findFirst().orElseThrow();
        assertEquals(skipped[0], finished.get("skipped_train").getAsLong());
        assertEquals(0, finished.get("skipped_val").getAsLong());
        assertTrue(events.stream().anyMatch(e -> e.get("type").getAsString().equals("STEP") && e.has("skipped_train")), "steps carry the count");
    }
}
