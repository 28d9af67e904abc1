// Test processes run the app the way the Node adapter does: its listener bound on abort signals applies here too.
import "../src/adapters/node";
