from genoflow.cli import main

main()
