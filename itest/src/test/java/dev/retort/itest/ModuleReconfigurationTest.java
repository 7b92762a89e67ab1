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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectService;

/** A distiller re-configured through ConfigAdmin while a run uses it keeps its trained state, and the run says why. */
class ModuleReconfigurationTest extends FrameworkTest {
    @Test
    void changingPeaWeightsThroughConfigAdminMidRunKeepsItsTrainedState(@TempDir Path dir,
            @InjectService(timeout = 10_000) ConfigurationAdmin configAdmin) throws Exception {
        List<RunEvent> events = new CopyOnWriteArrayList<>();
        ServiceRegistration<RunListener> listener = context.registerService(RunListener.class, events::add, null);
        Path run = dir.resolve("tiny.cfg");
        Files.writeString(run, tinyRun("name = reconf", "output = " + dir.resolve("out").toString().replace('\\', '/'), "seed = 3", "modules = csf,pea",
                "iterations = 400", "eval_every = 1000"));
        Configuration config = configAdmin.getConfiguration("dev.retort.distill.pea", "?");
        try {
            assertTrue(kd("kd:train " + run.toString().replace('\\', '/')).contains("started run reconf"));
            awaitEvent(events, 0, e -> e.type() == RunEvent.Type.STEP && e.step() >= 2);
            Hashtable<String, Object> props = new Hashtable<>();
            props.put("weights", "0.2,0.2,1.0,2.0");
            config.update(props);
            RunEvent swap = awaitEvent(events, 0, e -> e.type() == RunEvent.Type.MODULES_CHANGED && e.message().contains("pea re-configured"));
            assertTrue(swap.message().contains("pea re-configured in place (configuration changed (dev.retort.distill.pea)): stage weights"
                    + " 0.1,0.1,0.5,1.0 -> 0.2,0.2,1.0,2.0; trained parameters and AdamW moments kept"), swap.message());
            long after = swap.step();
            awaitEvent(events, 0, e -> e.type() == RunEvent.Type.STEP && e.step() >= after + 2);
            kd("kd:stop");
            awaitEvent(events, 0, e -> e.type() == RunEvent.Type.FINISHED);
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
}
