// Work in progress: see the issue this package implements.
export {};
