// Convert one ontology between OWL syntaxes with the OWL API (the library Protégé uses).
//
//   java -cp <OWL API jars> OwlConvert.java FROM TO   < input > output
//
// FROM is ttl (Turtle, N-Triples included), ofn (OWL functional syntax) or owx (OWL/XML);
// TO is ofn, owx or ttl, but not owx to ttl (see main). The ontology is read from stdin and
// written to stdout; nothing else is read or written. npc-kg runs this file with Java's
// single-file source launcher, from npc_kg/exporters/owlapi.py.
//
// No network: every URL protocol except file, jar and jrt (the JVM's own class loading) is
// refused for the whole JVM, the manager has no IRI mappers, and a missing import is skipped
// silently. The refusal is what counts: with SILENT alone the OWL API still requests an import
// (npc-kg removes owl:imports before it calls this tool anyway).
// Exit codes: 0 written; 2 bad arguments; 3 the input could not be parsed or written.

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLConnection;
import java.net.URLStreamHandler;
import java.util.Set;

import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.formats.FunctionalSyntaxDocumentFormat;
import org.semanticweb.owlapi.formats.OWLXMLDocumentFormat;
import org.semanticweb.owlapi.formats.PrefixDocumentFormat;
import org.semanticweb.owlapi.formats.TurtleDocumentFormat;
import org.semanticweb.owlapi.io.StreamDocumentSource;
import org.semanticweb.owlapi.model.IRI;
import org.semanticweb.owlapi.model.MissingImportHandlingStrategy;
import org.semanticweb.owlapi.model.OWLDocumentFormat;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.model.OWLOntologyLoaderConfiguration;
import org.semanticweb.owlapi.model.OWLOntologyManager;

public class OwlConvert {

    static final String TURTLE_PLACEHOLDER = "http://www.semanticweb.org/owl/owlapi/turtle#";

    /** A new, empty format object for a syntax name. */
    static PrefixDocumentFormat format(String name) {
        switch (name) {
            case "ttl": return new TurtleDocumentFormat();
            case "ofn": return new FunctionalSyntaxDocumentFormat();
            case "owx": return new OWLXMLDocumentFormat();
            default: return null;
        }
    }

    /** Make every network URL fail, for the whole JVM (file:, jar: and jrt: keep working). */
    static void refuseNetwork() {
        URL.setURLStreamHandlerFactory(protocol -> Set.of("file", "jar", "jrt").contains(protocol)
            ? null
            : new URLStreamHandler() {
                @Override
                protected URLConnection openConnection(URL url) throws IOException {
                    throw new IOException("OwlConvert does not use the network: " + url);
                }
            });
    }

    public static void main(String[] args) {
        PrefixDocumentFormat from = args.length == 2 ? format(args[0]) : null;
        PrefixDocumentFormat to = args.length == 2 ? format(args[1]) : null;
        if (from == null || to == null) {
            System.err.println("usage: OwlConvert {ttl|ofn|owx} {ofn|owx|ttl} < input > output");
            System.exit(2);
        }
        if (args[0].equals("owx") && args[1].equals("ttl")) {
            // OWL API 5.1.20: the OWL/XML parser makes a new object for every occurrence of an
            // anonymous individual and the RDF writers key blank nodes by object identity, so
            // each one would come out as several blank nodes. Convert owx -> ofn -> ttl instead.
            System.err.println("OwlConvert: owx -> ttl splits anonymous individuals; convert owx -> ofn -> ttl");
            System.exit(2);
        }
        refuseNetwork();
        OWLOntologyManager manager = OWLManager.createOWLOntologyManager();
        manager.getIRIMappers().clear();
        OWLOntologyLoaderConfiguration config = new OWLOntologyLoaderConfiguration()
            .setMissingImportHandlingStrategy(MissingImportHandlingStrategy.SILENT)
            .setFollowRedirects(false);
        try {
            // The declared input format restricts parsing to that syntax's parsers.
            StreamDocumentSource source = new StreamDocumentSource(
                System.in, IRI.create("urn:npc-kg:stdin"), from, null);
            OWLOntology ontology = manager.loadOntologyFromOntologyDocument(source, config);
            OWLDocumentFormat loaded = manager.getOntologyFormat(ontology);
            if (loaded != null && loaded.isPrefixOWLDocumentFormat()) {
                // Keep the input's prefixes, minus the placeholder default prefix (":") that the
                // Turtle parser invents when the input declares none. The writers also read the
                // prefixes of the loaded format, so the placeholder is removed there.
                PrefixDocumentFormat prefixes = loaded.asPrefixOWLDocumentFormat();
                prefixes.unregisterNamespace(TURTLE_PLACEHOLDER);
                to.copyPrefixesFrom(prefixes);
            }
            OutputStream out = new BufferedOutputStream(System.out);
            manager.saveOntology(ontology, to, out);
            out.flush();
        } catch (Exception | LinkageError error) {  // LinkageError: a jar missing from the classpath
            System.err.println("OwlConvert: " + error);
            System.exit(3);
        }
    }
}
