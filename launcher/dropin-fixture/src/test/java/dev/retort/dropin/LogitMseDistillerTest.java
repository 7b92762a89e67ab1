package dev.retort.dropin;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.retort.api.distill.DistillContext;
import dev.retort.api.distill.DistillStep;
import dev.retort.api.distill.LossTerm;
import dev.retort.api.distill.PortRefiner;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapValues;
import dev.retort.distill.support.RandomTaps;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LogitMseDistillerTest {
    @Test
    void theTermIsTheWeightedMseOfTheLogits() {
        Engine engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
        LogitMseDistiller d = new LogitMseDistiller();
        d.configure(Map.of("weight", "0.25"));
        assertEquals("MSE between student and teacher logits (weight 0.25)", d.description());
        try (NDManager m = engine.newBaseManager()) {
            var layout = RandomTaps.mit("n", 2, 4);
            var module = d.build(new DistillContext(layout, layout, Map.of(), m, 0));
            TapValues t = new TapValues("t", Map.of(TapNames.LOGITS, m.create(new float[] {1, 2, 3, 4}, new Shape(1, 2, 1, 2))));
            TapValues s = new TapValues("s", Map.of(TapNames.LOGITS, m.create(new float[] {1, 0, 3, 0}, new Shape(1, 2, 1, 2))));
            List<LossTerm> terms = module.forward(new DistillStep(t, s, true, m, PortRefiner.NONE));
            assertEquals("logit-mse", terms.get(0).name());
            assertEquals(0.25, terms.get(0).weight());
            assertEquals((0 + 4 + 0 + 16) / 4.0, terms.get(0).value().getFloat(), 1e-6);  // differences 0, 2, 0, 4
        }
    }
}
