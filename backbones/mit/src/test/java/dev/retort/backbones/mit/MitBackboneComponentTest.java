package dev.retort.backbones.mit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.retort.api.backbone.Backbone;
import java.io.InputStream;
import java.util.Arrays;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The service properties clients filter on say what the component does. DS annotations are not kept at run time, so
 * this reads the component description bnd generated from {@link MitBackbone}'s {@code @Component}, the one the
 * framework registers the service with.
 */
class MitBackboneComponentTest {
    static final String DESCRIPTOR = "OSGI-INF/" + MitBackbone.class.getName() + ".xml";

    @Test
    void theVariantsServicePropertyListsExactlyTheVariantsTheBackboneBuilds() throws Exception {
        Element property = property(Backbone.VARIANTS_PROPERTY);
        assertEquals("String", property.getAttribute("type"));
        assertEquals("", property.getAttribute("value"), "a multi-valued property lists its values in the element body");
        // DS: the body holds one value per line, each trimmed
        List<String> values = Arrays.stream(property.getTextContent().split("\n")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        assertEquals(new MitBackbone().variants(), values);
    }

    @Test
    void theFamilyServicePropertyIsTheBackbonesName() throws Exception {
        assertEquals(new MitBackbone().name(), property(Backbone.FAMILY_PROPERTY).getAttribute("value"));
    }

    private static Element property(String name) throws Exception {
        Document doc;
        try (InputStream in = MitBackbone.class.getClassLoader().getResourceAsStream(DESCRIPTOR)) {
            assertNotNull(in, DESCRIPTOR + " is on the class path (bnd writes it when the classes are processed)");
            doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(in);
        }
        NodeList properties = doc.getElementsByTagName("property");
        for (int i = 0; i < properties.getLength(); i++) {
            Element p = (Element) properties.item(i);
            if (p.getAttribute("name").equals(name)) return p;
        }
        throw new AssertionError(DESCRIPTOR + " has no property " + name);
    }
}
