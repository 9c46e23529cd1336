from pullguard.cli import main

main()
