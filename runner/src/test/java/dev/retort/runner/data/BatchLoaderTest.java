package dev.retort.runner.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.retort.api.data.DatasetRequest;
import dev.retort.datasets.Batch;
import dev.retort.datasets.BatchLoader;
import dev.retort.api.data.SampleSource;
import dev.retort.datasets.synthetic.SyntheticCityDataset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BatchLoaderTest {
    private static List<Batch> epoch(SampleSource source, int threads, long seed, int epoch) throws Exception {
        try (BatchLoader loader = new BatchLoader(source, 3, false, threads, 2); BatchLoader.Epoch e = loader.epoch(seed, epoch, true, 0)) {
            List<Batch> out = new ArrayList<>();
            while (e.hasNext()) out.add(e.next());
            return out;
        }
    }

    @Test
    void batchesDependOnSeedAndEpochNeverOnThreadCount() throws Exception {
        try (SampleSource source = new SyntheticCityDataset().open(new DatasetRequest(null, "train", "transkd",
                Map.of("height", 32, "width", 64, "train_size", 10)))) {
            List<Batch> one = epoch(source, 1, 7, 1), three = epoch(source, 3, 7, 1), other = epoch(source, 3, 7, 2);
            assertEquals(4, one.size());  // 10 samples, batch 3, last batch kept
            assertEquals(1, one.get(3).size());
            for (int b = 0; b < one.size(); b++) {
                assertEquals(one.get(b).ids(), three.get(b).ids());
                assertArrayEquals(one.get(b).images(), three.get(b).images());
                assertArrayEquals(one.get(b).labels(), three.get(b).labels());
            }
            assertFalse(one.get(0).ids().equals(other.get(0).ids()) && one.get(1).ids().equals(other.get(1).ids()), "epochs reshuffle");
            assertEquals(32 * 64 * 3 * 3, one.get(0).images().length);
            assertEquals(8 * 16 * 3, one.get(0).labels().length);
        }
    }
}
