module github.com/promisekit/promisekit/test/kratix

go 1.26.2

require github.com/syntasso/kratix v0.125.1-0.20250807132634-605d221cdabc // indirect
