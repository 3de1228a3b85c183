import java.nio.file.Path;
import java.util.Map;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.QueryExecutionException;

/**
 * Runs a real Neo4j 5.26 Community DBMS (the embedded DBMS with its Bolt connector) on loopback,
 * for faasprov's tests and local development. Usage: FaasprovNeo4j HOME BOLT_PORT PASSWORD.
 * Prints "READY bolt://127.0.0.1:PORT" once Bolt accepts connections; stops on SIGTERM.
 */
public final class FaasprovNeo4j {
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: FaasprovNeo4j HOME BOLT_PORT PASSWORD");
      System.exit(2);
    }
    Path home = Path.of(args[0]);
    int port = Integer.parseInt(args[1]);
    String password = args[2];
    DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
        .setConfig(BoltConnector.enabled, true)
        .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
        .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
        .setConfig(HttpConnector.enabled, false)
        .setConfig(GraphDatabaseSettings.auth_enabled, true)
        .build();
    Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown));
    // The default user must not keep the default password: set ours on every start.
    try {
      dbms.database("system").executeTransactionally(
          "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
    } catch (QueryExecutionException e) {
      if (!String.valueOf(e.getMessage()).contains("cannot be the same")) {
        System.err.println("cannot set the password of user neo4j: " + e.getMessage());
        dbms.shutdown();
        System.exit(1);
      }
    }
    System.out.println("READY bolt://127.0.0.1:" + port);
    System.out.flush();
    Thread.currentThread().join();
  }
}
