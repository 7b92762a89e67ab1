package dev.retort.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.error.RetortConfigException;
import dev.retort.pytorch.CheckpointException;
import dev.retort.pytorch.TorchCheckpoint;
import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import dev.retort.safetensors.TensorSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one opener: formats told by content (a .bin that is a torch.save zip, a .pth that is safetensors), Hugging Face
 * folders and shard indexes as one state dict with their config handed on, DataParallel's prefix, and clear refusals.
 */
class WeightFilesTest {
    static final Path DIR = Path.of(System.getProperty("retort.fixtures", "../../shared/fixtures")).resolve("pytorch-checkpoints");
    static final Path EXPECTED = DIR.resolve("mit-tiny.expected.safetensors");

    @TempDir
    Path tmp;

    @Test
    void theFormatIsToldByContentNotByName() throws Exception {
        Path bin = Files.copy(DIR.resolve("mit-tiny.pth"), tmp.resolve("pytorch_model.bin"));
        Path misnamed = Files.copy(EXPECTED, tmp.resolve("weights.pth"));
        try (TensorSource a = WeightFiles.open(bin); TensorSource b = WeightFiles.open(misnamed)) {
            assertInstanceOf(TorchCheckpoint.class, a);
            assertInstanceOf(SafeTensorsFile.class, b);
            assertEquals(a.tensors().keySet(), b.tensors().keySet());
            assertArrayEquals(b.readFloats("block1.0.attn.kv.weight"), a.readFloats("block1.0.attn.kv.weight"));
        }
        try (TensorSource legacy = WeightFiles.open(DIR.resolve("mit-tiny.legacy.pth"))) {
            assertTrue(legacy.format().startsWith("PyTorch legacy checkpoint"), legacy.format());
        }
    }

    @Test
    void aHuggingFaceFolderWithPytorchModelBinLoadsWithItsConfig() throws Exception {
        Path folder = Files.createDirectories(tmp.resolve("model"));
        Files.copy(DIR.resolve("mit-tiny.pth"), folder.resolve("pytorch_model.bin"));
        Files.writeString(folder.resolve("config.json"), "{\"model_type\": \"segformer\", \"hidden_sizes\": [8, 16, 24, 32]}");
        try (TensorSource s = WeightFiles.open(folder); SafeTensorsFile e = SafeTensorsFile.open(EXPECTED)) {
            assertEquals(folder, s.path());
            assertTrue(s.format().startsWith("Hugging Face model folder (pytorch_model.bin, PyTorch zip checkpoint"), s.format());
            assertTrue(s.metadata().get(WeightFiles.HF_CONFIG).contains("hidden_sizes"));
            assertEquals(116, s.tensors().size());
            assertArrayEquals(e.readFloats("linear_pred.weight"), s.readFloats("linear_pred.weight"));
        }
        Files.copy(EXPECTED, folder.resolve("model.safetensors"));
        try (TensorSource s = WeightFiles.open(folder)) {
            assertTrue(s.format().contains("model.safetensors"), "transformers prefers safetensors: " + s.format());
        }
    }

    @Test
    void shardsOfAnIndexLoadAsOneStateDictWhateverTheirFormat() throws Exception {
        Path folder = Files.createDirectories(tmp.resolve("sharded"));
        List<String> keys = new ArrayList<>();
        try (SafeTensorsFile e = SafeTensorsFile.open(EXPECTED)) {
            keys.addAll(e.tensors().keySet());
            SafeTensorsWriter first = new SafeTensorsWriter(), second = new SafeTensorsWriter();
            for (int i = 0; i < keys.size(); i++) {
                String k = keys.get(i);
                if (e.info(k).dtype().floating()) (i % 2 == 0 ? first : second).add(k, e.info(k).shape(), e.readFloats(k), DType.F32);
                else (i % 2 == 0 ? first : second).add(k, e.info(k).shape(), e.readLongs(k), DType.I64);
            }
            first.write(folder.resolve("model-00001-of-00002.safetensors"));
            second.write(folder.resolve("model-00002-of-00002.safetensors"));
        }
        StringBuilder map = new StringBuilder();
        for (int i = 0; i < keys.size(); i++) {
            map.append(i == 0 ? "" : ",").append('"').append(keys.get(i)).append("\": \"model-0000").append(i % 2 + 1).append("-of-00002.safetensors\"");
        }
        Path index = folder.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"metadata\": {\"total_size\": 1}, \"weight_map\": {" + map + "}}");
        Files.writeString(folder.resolve("config.json"), "{\"model_type\": \"segformer\"}");
        for (Path p : List.of(index, folder)) {
            try (TensorSource s = WeightFiles.open(p); SafeTensorsFile e = SafeTensorsFile.open(EXPECTED)) {
                assertEquals(e.tensors().keySet(), new java.util.TreeSet<>(s.tensors().keySet()));
                for (String k : keys) {
                    if (e.info(k).dtype().floating()) assertArrayEquals(e.readFloats(k), s.readFloats(k), k);
                    else assertArrayEquals(e.readLongs(k), s.readLongs(k), k);
                }
                assertTrue(s.metadata().containsKey(WeightFiles.HF_CONFIG), p.toString());
            }
        }

        Files.writeString(index, "{\"weight_map\": {\"" + keys.get(0) + "\": \"model-00002-of-00002.safetensors\"}}");
        assertRefused(index, "lists '" + keys.get(0) + "' in model-00002-of-00002.safetensors, which does not hold it");
        Files.writeString(index, "{\"weight_map\": {\"w\": \"../outside.safetensors\"}}");
        assertRefused(index, "not a file name of the index's folder");
        Files.writeString(index, "{\"weight_map\": {\"w\": \"gone.safetensors\"}}");
        assertRefused(index, "shard gone.safetensors is missing");
        Files.writeString(index, "{\"weight_map\": [1, 2]}");
        assertRefused(index, "no \"weight_map\" object");
        Files.writeString(index, "{\"weight_map\": ");
        assertRefused(index, "not valid JSON");
    }

    @Test
    void dataParallelsPrefixIsRemovedWhenEveryKeyHasIt() throws Exception {
        try (TensorSource s = WeightFiles.withoutDataParallel(WeightFiles.open(DIR.resolve("transkd-checkpoint.pth.tar")));
             SafeTensorsFile student = SafeTensorsFile.open(DIR.resolve("transkd-checkpoint.student.expected.safetensors"))) {
            assertTrue(s.contains("student.block1.0.attn.kv.weight") && s.contains("skfs.0.conv1.1.num_batches_tracked"), s.tensors().keySet().toString());
            assertArrayEquals(student.readFloats("block1.0.attn.kv.weight"), s.readFloats("student.block1.0.attn.kv.weight"));
            assertEquals("7", s.metadata().get("epoch"));
        }
        try (TensorSource s = WeightFiles.open(DIR.resolve("mit-tiny.pth"))) {
            assertEquals(s, WeightFiles.withoutDataParallel(s), "no prefix, nothing to remove");
        }
    }

    @Test
    void whatIsNotWeightsIsRefusedSayingWhatItIs() throws Exception {
        Path text = Files.writeString(tmp.resolve("notes.pth"), "hello, these are not weights");
        assertRefused(text, "not a weights file Retort reads", "68 65 6c 6c 6f");
        Path empty = Files.write(tmp.resolve("empty.bin"), new byte[0]);
        assertRefused(empty, "not a weights file Retort reads");
        byte[] tar = new byte[1024];
        System.arraycopy("ustar".getBytes(), 0, tar, 257, 5);
        assertRefused(Files.write(tmp.resolve("old.pth"), tar), "tar archive", "before 0.4");
        assertRefused(tmp.resolve("nowhere.pth"), "no such file or folder");
        assertRefused(Files.createDirectories(tmp.resolve("emptydir")), "a folder without model weights", "pytorch_model.bin");
        CheckpointException hostile = assertThrows(CheckpointException.class, () -> WeightFiles.open(DIR.resolve("hostile-os-system.pth")));
        assertTrue(hostile.getMessage().contains("posix.system"));
    }

    @Test
    void aDescriptionSaysFormatTopLevelTensorsAndPrefixes() throws Exception {
        try (TensorSource s = WeightFiles.open(DIR.resolve("transkd-checkpoint.pth.tar"))) {
            String d = String.join("\n", WeightsDescription.lines(s));
            assertTrue(d.contains("format: PyTorch zip checkpoint (archive folder 'transkd-checkpoint.pth', little-endian)"), d);
            assertTrue(d.contains("top level: a checkpoint dict; tensors taken from 'state_dict'"), d);
            assertTrue(d.contains("epoch = 7") && d.contains("optimizer = dict of 2 entries"), d);
            assertTrue(d.contains("tensors: 205"), d);
            assertTrue(d.contains("key prefix module.") && d.contains("key prefix student.") && d.contains("  116 tensors"), d);
        }
        try (TensorSource s = WeightFiles.open(DIR.resolve("mmseg-style.pth"))) {
            String d = String.join("\n", WeightsDescription.lines(s));
            assertTrue(d.contains("key prefix backbone.") && d.contains("meta = dict of"), d);
        }
    }

    private static void assertRefused(Path p, String... words) {
        RetortConfigException e = assertThrows(RetortConfigException.class, () -> {
            try (TensorSource s = WeightFiles.open(p)) {
                s.tensors();
            }
        });
        assertTrue(e.getMessage().contains(p.toString()), "names the file: " + e.getMessage());
        for (String w : words) assertTrue(e.getMessage().contains(w), "'" + w + "' not in " + e.getMessage());
    }
}
