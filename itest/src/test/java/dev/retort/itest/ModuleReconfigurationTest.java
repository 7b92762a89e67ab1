package dev.retort.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunListener;
import dev.retort.safetensors.SafeTensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/** A distiller re-configured through ConfigAdmin while a run uses it keeps its trained state, and the run says why. */
@ExtendWith({BundleContextExtension.class, ServiceExtension.class})
class ModuleReconfigurationTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    CommandProcessor shell;

    @Test
    void changingPeaWeightsThroughConfigAdminMidRunKeepsItsTrainedState(@TempDir Path dir,
            @InjectService(timeout = 10_000) ConfigurationAdmin configAdmin) throws Exception {
        List<RunEvent> events = new CopyOnWriteArrayList<>();
        ServiceRegistration<RunListener> listener = context.registerService(RunListener.class, events::add, null);
        Path run = dir.resolve("tiny.cfg");
        Files.writeString(run, String.join("\n",
                "name = reconf", "output = " + dir.resolve("out").toString().replace('\\', '/'), "seed = 3", "modules = csf,pea",
                "teacher = mit-b2", "teacher.embed_dims = 16,32,48,64", "teacher.depths = 1,1,1,1", "teacher.num_heads = 1,2,3,4", "teacher.decoder_dim = 32",
                "student = mit-b0", "student.embed_dims = 8,16,24,32", "student.depths = 1,1,1,1", "student.num_heads = 1,2,3,4", "student.decoder_dim = 16",
                "dataset = synthetic", "data.height = 32", "data.width = 64", "data.train_size = 16", "data.val_size = 4",
                "batch_size = 2", "iterations = 400", "eval_every = 1000", "eval_batches = 1", "decay_per = iteration", "log_every = 1", "threads = 1", ""));
        Configuration config = configAdmin.getConfiguration("dev.retort.distill.pea", "?");
        try {
            assertTrue(kd("kd:train " + run.toString().replace('\\', '/')).contains("started run reconf"));
            await(events, e -> e.type() == RunEvent.Type.STEP && e.step() >= 2);
            Hashtable<String, Object> props = new Hashtable<>();
            props.put("weights", "0.2,0.2,1.0,2.0");
            config.update(props);
            RunEvent swap = await(events, e -> e.type() == RunEvent.Type.MODULES_CHANGED && e.message().contains("pea re-configured"));
            assertTrue(swap.message().contains("pea re-configured in place (configuration changed (dev.retort.distill.pea)): stage weights"
                    + " 0.1,0.1,0.5,1.0 -> 0.2,0.2,1.0,2.0; trained parameters and AdamW moments kept"), swap.message());
            long after = swap.step();
            await(events, e -> e.type() == RunEvent.Type.STEP && e.step() >= after + 2);
            kd("kd:stop");
            await(events, e -> e.type() == RunEvent.Type.FINISHED);
            assertTrue(Files.readString(dir.resolve("out/train.log")).contains("pea re-configured in place"));
            try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("out/last.safetensors"))) {
                // PEA and CSF trained at the same steps: PEA's AdamW step count went on through the change.
                assertEquals(f.readLongs("optim.t.modules.csf.skfs.0.conv1.0.weight")[0], f.readLongs("optim.t.modules.pea.embed4_linearproject.weight")[0]);
            }
        } finally {
            config.delete();
            listener.unregister();
        }
    }

    private static RunEvent await(List<RunEvent> events, java.util.function.Predicate<RunEvent> condition) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline) {
            for (RunEvent e : events) if (condition.test(e)) return e;
            Thread.sleep(20);
        }
        throw new AssertionError("no such event in " + events.subList(Math.max(0, events.size() - 5), events.size()));
    }

    private String kd(String line) throws Exception {
        return Gogo.run(shell, line);
    }
}
