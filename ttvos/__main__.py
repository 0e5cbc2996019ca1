from ttvos.cli import main

main()
