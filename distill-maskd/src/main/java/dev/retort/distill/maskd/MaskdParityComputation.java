package dev.retort.distill.maskd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.retort.api.parity.ParityCases;
import dev.retort.api.parity.ParityComputation;
import dev.retort.safetensors.SafeTensorsFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.osgi.service.component.annotations.Component;

/**
 * MasKD's parity for {@code kd:parity}: the {@code maskd.*} tensors of the other-KD fixtures, through {@link MaskdParity}
 * (the preparation phase and two distillation calls per variant do not fit a declarative parity case).
 */
@Component(service = ParityComputation.class, property = ParityCases.FIXTURE_PROPERTY + "=" + MaskdParity.FILE)
public class MaskdParityComputation implements ParityComputation {
    @Override
    public String fixture() {
        return MaskdParity.FILE;
    }

    @Override
    public Map<String, NDArray> compute(Path weights, Path io, NDManager manager) throws IOException {
        Map<String, NDArray> out = new TreeMap<>(MaskdParity.compute(weights, io, manager));
        try (SafeTensorsFile f = SafeTensorsFile.open(io)) {
            // gradients the fixture left out to stay small (e.g. some connector weights) are computed but not compared
            out.keySet().retainAll(f.tensors().keySet());
        }
        return out;
    }

    /** The stage probes {@code maskd.grad_probe.*} are random inputs the reference drew (R in the fixtures' README). */
    @Override
    public Set<String> inputs(Path io) throws IOException {
        try (SafeTensorsFile f = SafeTensorsFile.open(io)) {
            return f.tensors().keySet().stream().filter(n -> n.startsWith(MaskdParity.FILE + ".") && MaskdParity.isInput(n))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
