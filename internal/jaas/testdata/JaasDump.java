// JaasDump parses JAAS files with the JDK's own parser and prints what it
// read, for jaas_java_test.go. Arguments: "file|section|section..." per
// file. Output, one record per line, text fields hex-encoded (UTF-8):
//   FILE <i>, then ERROR or, per section, SECTION <name> <entries|-1>
//   followed by ENTRY <module> <flag> and OPT <key> <value> lines.
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.URIParameter;
import java.util.Map;
import java.util.TreeMap;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;

public class JaasDump {
    static String hex(String s) {
        StringBuilder b = new StringBuilder("x");
        for (byte c : s.getBytes(StandardCharsets.UTF_8)) {
            b.append(String.format("%02x", c));
        }
        return b.toString();
    }

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            String[] parts = args[i].split("\\|", -1);
            System.out.println("FILE " + i);
            Configuration cfg;
            try {
                cfg = Configuration.getInstance("JavaLoginConfig",
                        new URIParameter(new java.io.File(parts[0]).toURI()));
            } catch (Exception e) {
                Throwable c = e.getCause() != null ? e.getCause() : e;
                System.out.println("ERROR " + hex(String.valueOf(c.getMessage())));
                continue;
            }
            for (int j = 1; j < parts.length; j++) {
                AppConfigurationEntry[] entries = cfg.getAppConfigurationEntry(parts[j]);
                System.out.println("SECTION " + hex(parts[j]) + " " + (entries == null ? -1 : entries.length));
                if (entries == null) {
                    continue;
                }
                for (AppConfigurationEntry e : entries) {
                    String flag = e.getControlFlag().toString();
                    flag = flag.substring(flag.lastIndexOf(' ') + 1);
                    System.out.println("ENTRY " + hex(e.getLoginModuleName()) + " " + flag);
                    for (Map.Entry<String, ?> o : new TreeMap<String, Object>(e.getOptions()).entrySet()) {
                        System.out.println("OPT " + hex(o.getKey()) + " " + hex(String.valueOf(o.getValue())));
                    }
                }
            }
        }
    }
}
