import "./ui/styles.css";
import "./ui/room.css";
import { App } from "./ui/app";

const root = document.getElementById("app");
if (root) void new App(root).start();
