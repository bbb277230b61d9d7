// Package policy holds no code: its tests check repository-wide rules of
// the house style (package docs, import direction, a tiny main).
package policy
