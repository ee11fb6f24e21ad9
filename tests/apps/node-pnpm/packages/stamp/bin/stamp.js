#!/usr/bin/env node
console.log("stamped at build time by a devDependency");
