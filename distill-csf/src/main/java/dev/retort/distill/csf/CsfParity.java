package dev.retort.distill.csf;

import dev.retort.api.parity.ParityCase;
import dev.retort.api.parity.ParityCases;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Component;

/** CSF's parity: the {@code csf.*} tensors of the TransKD module fixture, CSF alone in training mode. */
@Component(service = ParityCases.class, property = ParityCases.FIXTURE_PROPERTY + "=" + CsfParity.FIXTURE)
public class CsfParity implements ParityCases {
    static final String FIXTURE = "transkd-modules";

    @Override
    public List<ParityCase> cases() {
        // Training mode: the fixture holds the BatchNorm running statistics after one forward (csf.after.*).
        return List.of(new ParityCase(FIXTURE, CsfDistiller.NAME, List.of(new ParityCase.Module(CsfDistiller.NAME, Map.of())), true, Map.of()));
    }
}
